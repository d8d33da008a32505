"""What a notification says, and how each kind of destination wants it (pure: no settings, no network).

A Message is built once per event; the generic JSON webhook, the Slack/Mattermost webhook
and email each format it their own way here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A digest of hundreds of updates stays readable (and under Slack's message size): name the
# first ones, count the rest.
MAX_LINES = 30


@dataclass(frozen=True)
class Message:
    event: str
    title: str
    lines: tuple[str, ...] = ()  # one per item (an image with an update, a requested removal...)
    url: str = ""  # where to look in Berth (absolute when BERTH_PUBLIC_URL is set)
    environment: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable details for generic webhooks

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "title": self.title,
            "lines": list(self.lines),
            "url": self.url,
            "environment": self.environment,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Message:
        return cls(
            event=str(value.get("event", "")),
            title=str(value.get("title", "")),
            lines=tuple(str(line) for line in value.get("lines") or ()),
            url=str(value.get("url", "")),
            environment=str(value.get("environment", "")),
            data=dict(value.get("data") or {}),
        )


def _shown_lines(lines: tuple[str, ...]) -> list[str]:
    shown = list(lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        shown.append(f"... and {len(lines) - MAX_LINES} more")
    return shown


def generic_payload(message: Message) -> dict[str, Any]:
    """The generic webhook's JSON: stable keys a script can read."""
    return {"source": "berth", **message.to_json()}


def _slack_escape(text: str) -> str:
    # Slack and Mattermost read &, < and > as markup (links, mentions): escape them in our text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    """An incoming-webhook message Slack and Mattermost both accept: `text` in their markdown."""
    parts = [f"*{_slack_escape(message.title)}*"]
    parts += [f"• {_slack_escape(line)}" for line in _shown_lines(message.lines)]
    if message.url:
        parts.append(f"<{message.url}|Open in Berth>")
    return {"text": "\n".join(parts), "username": "Berth"}


def email_content(message: Message) -> tuple[str, str]:
    """(subject, plain-text body)."""
    subject = f"[Berth] {message.title}"
    body = [message.title, ""]
    body += [f"- {line}" for line in _shown_lines(message.lines)]
    if message.url:
        body += ["", message.url]
    return subject[:200].replace("\n", " "), "\n".join(body) + "\n"


def updates_message(*, environment: str, items: list[tuple[str, str, str]], url: str = "") -> Message:
    """One digest for a check's new updates: items are (tag, new digest, new image's created date or "")."""
    count = len(items)
    lines = tuple(
        f"{tag}: the registry now serves {digest[:19]}…" + (f" (created {created})" if created else "")
        for tag, digest, created in items
    )
    return Message(
        event="updates_available",
        title=f"{count} update{'s' if count != 1 else ''} available on {environment}",
        lines=lines,
        url=url,
        environment=environment,
        data={"updates": [{"tag": t, "digest": d, "created": c} for t, d, c in items]},
    )


def backoff_seconds(attempt: int, base: float) -> float:
    """Wait before retry number `attempt` (1-based): base, 2x, 4x..., capped at an hour."""
    return min(float(base) * 2.0 ** max(attempt - 1, 0), 3600.0)
