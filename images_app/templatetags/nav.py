"""The top navigation's links, built once for each kind of page and kept.

Every page shows them, and they depend only on the environment, the page's section, the
role's permissions and the number of pending approvals: the same few strings, yet the
template spent a dozen URL reversals and as many conditions on them for every page
(bench.load: about a tenth of a history page). Kept per process in a bounded cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django import template
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@dataclass(frozen=True)
class _Link:
    label: str
    url_name: str
    section: str
    per_environment: bool = True
    permission: str = ""  # shown only to roles with it
    # Where roles with this permission go instead (the notifications link: channels for admins).
    elsewhere_with: tuple[str, str] = ("", "")


_LINKS = (
    _Link("Dashboard", "env_home", "dashboard"),
    _Link("Images", "image_list", "images"),
    _Link("Pulls", "pull_list", "pulls"),
    _Link("Search", "search", "search"),
    _Link("Requests", "request_list", "requests", per_environment=False),
    _Link("History", "audit_list", "history", per_environment=False),
    _Link("Registries", "registry_list", "registries", per_environment=False),
    _Link("Policies", "policy_list", "policies", per_environment=False, permission="images_app.manage_retention"),
    _Link("Users", "user_list", "users", per_environment=False, permission="auth.change_user"),
    _Link(
        "Notifications",
        "notification_preferences",
        "notifications",
        per_environment=False,
        elsewhere_with=("images_app.manage_notifications", "notification_channels"),
    ),
    _Link("Tokens", "token_list", "tokens", per_environment=False),
)
_PERMISSIONS = tuple(sorted({p for link in _LINKS for p in (link.permission, link.elsewhere_with[0]) if p}))


@register.simple_tag(takes_context=True)
def nav_links(context: template.Context) -> SafeString:
    """The `<a>`s of the top navigation for this page's user, environment and section."""
    user: Any = context["user"]
    granted = frozenset(p for p in _PERMISSIONS if user.has_perm(p))
    return _links(
        str(context.get("current_env") or ""),
        str(context.get("nav_section") or ""),
        int(context.get("pending_approvals") or 0),
        granted,
        get_script_prefix(),  # part of every URL reversed
    )


@lru_cache(maxsize=256)  # environments x sections x roles x counts seen lately; the environment comes from the URL
def _links(environment: str, section: str, pending: int, granted: frozenset[str], _prefix: str) -> SafeString:
    parts = []
    for link in _LINKS:
        if link.permission and link.permission not in granted:
            continue
        name = link.elsewhere_with[1] if link.elsewhere_with[0] in granted else link.url_name
        try:
            url = reverse(name, kwargs={"env": environment} if link.per_environment else None)
        except NoReverseMatch:
            continue  # an area this build does not have: no link rather than a broken page
        current = mark_safe(' aria-current="page"') if section == link.section else ""  # constant text
        badge = (
            format_html('<span class="count" id="pending-badge" title="Pending approvals">{}</span>', pending)
            if link.url_name == "request_list" and pending
            else ""
        )
        parts.append((url, current, link.label, badge))
    return format_html_join("\n", '<a href="{}"{}>{}{}</a>', parts)
