"""How a notification reads on each kind of destination (pure)."""

from __future__ import annotations

from images_app.notification_payloads import (
    MAX_LINES,
    Message,
    backoff_seconds,
    email_content,
    generic_payload,
    slack_payload,
    updates_message,
)

DIGEST = "sha256:" + "c" * 64


def test_many_updates_make_one_digest_message():
    message = updates_message(
        environment="prod", items=[(f"app{i}:1", DIGEST, "") for i in range(3)], url="https://b/env/prod/images/"
    )
    assert message.title == "3 updates available on prod"
    assert len(message.lines) == 3 and message.lines[0].startswith("app0:1: the registry now serves sha256:cccc")
    assert [u["tag"] for u in message.data["updates"]] == ["app0:1", "app1:1", "app2:1"]


def test_one_update_is_singular_and_names_the_new_images_date():
    message = updates_message(environment="e", items=[("nginx:1", DIGEST, "2026-12-01 10:00 UTC")])
    assert message.title == "1 update available on e"
    assert message.lines[0].endswith("(created 2026-12-01 10:00 UTC)")


def test_the_generic_webhook_gets_stable_keys():
    payload = generic_payload(Message(event="pull_failed", title="Pull of x failed", lines=("boom",), url="u"))
    assert payload == {
        "source": "berth",
        "event": "pull_failed",
        "title": "Pull of x failed",
        "lines": ["boom"],
        "url": "u",
        "environment": "",
        "data": {},
    }


def test_slack_text_escapes_markup_and_links_back():
    payload = slack_payload(Message(event="e", title="A <b> & c", lines=("<!channel>",), url="https://berth/x"))
    assert payload["text"] == "*A &lt;b&gt; &amp; c*\n• &lt;!channel&gt;\n<https://berth/x|Open in Berth>"
    assert set(payload) == {"text", "username"}


def test_long_digests_name_the_first_lines_and_count_the_rest():
    message = Message(event="e", title="t", lines=tuple(f"line {i}" for i in range(MAX_LINES + 5)))
    assert slack_payload(message)["text"].endswith("• ... and 5 more")
    _subject, body = email_content(message)
    assert "- ... and 5 more" in body and "line 29" in body and "line 30" not in body


def test_email_subject_is_one_line():
    subject, body = email_content(Message(event="e", title="two\nlines"))
    assert subject == "[Berth] two lines" and body.startswith("two\nlines\n")


def test_a_message_survives_its_json_round_trip():
    message = updates_message(environment="e", items=[("a:1", DIGEST, "")], url="u")
    assert Message.from_json(message.to_json()) == message


def test_retries_back_off_exponentially_up_to_an_hour():
    assert [backoff_seconds(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(50, 30) == 3600
