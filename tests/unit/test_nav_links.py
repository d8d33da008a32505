"""The top navigation, built in Python and kept: the same links the template made, for every role and page."""

from __future__ import annotations

import itertools
import re

import pytest
from django.contrib.auth.context_processors import PermWrapper
from django.template import Context, Template

from images_app.templatetags import nav

# The navigation as base.html and partials/nav_links.html wrote it (commit 2211476), to compare against.
TEMPLATE_NAV = """<a href="{% url 'env_home' env=current_env %}"{% if nav_section == "dashboard" %} aria-current="page"{% endif %}>Dashboard</a>
<a href="{% url 'image_list' env=current_env %}"{% if nav_section == "images" %} aria-current="page"{% endif %}>Images</a>
{% comment %}Links to each area; `as` keeps a missing area from breaking the page. aria-current marks the page's area.{% endcomment %}
{% url 'pull_list' env=current_env as pulls_url %}{% if pulls_url %}<a href="{{ pulls_url }}"{% if nav_section == "pulls" %} aria-current="page"{% endif %}>Pulls</a>{% endif %}
{% url 'search' env=current_env as search_url %}{% if search_url %}<a href="{{ search_url }}"{% if nav_section == "search" %} aria-current="page"{% endif %}>Search</a>{% endif %}
{% url 'request_list' as requests_url %}{% if requests_url %}<a href="{{ requests_url }}"{% if nav_section == "requests" %} aria-current="page"{% endif %}>Requests{% if pending_approvals %}<span class="count" id="pending-badge" title="Pending approvals">{{ pending_approvals }}</span>{% endif %}</a>{% endif %}
{% url 'audit_list' as audit_url %}{% if audit_url %}<a href="{{ audit_url }}"{% if nav_section == "history" %} aria-current="page"{% endif %}>History</a>{% endif %}
{% url 'registry_list' as registries_url %}{% if registries_url %}<a href="{{ registries_url }}"{% if nav_section == "registries" %} aria-current="page"{% endif %}>Registries</a>{% endif %}
{% if perms.images_app.manage_retention %}{% url 'policy_list' as policies_url %}<a href="{{ policies_url }}"{% if nav_section == "policies" %} aria-current="page"{% endif %}>Policies</a>{% endif %}
{% if perms.auth.change_user %}{% url 'user_list' as users_url %}{% if users_url %}<a href="{{ users_url }}"{% if nav_section == "users" %} aria-current="page"{% endif %}>Users</a>{% endif %}{% endif %}
{% url 'notification_preferences' as notifications_url %}{% if notifications_url and user.is_authenticated %}<a href="{% if perms.images_app.manage_notifications %}{% url 'notification_channels' %}{% else %}{{ notifications_url }}{% endif %}"{% if nav_section == "notifications" %} aria-current="page"{% endif %}>Notifications</a>{% endif %}
{% url 'token_list' as tokens_url %}{% if tokens_url %}<a href="{{ tokens_url }}"{% if nav_section == "tokens" %} aria-current="page"{% endif %}>Tokens</a>{% endif %}"""  # noqa: E501  (the template's own lines)

PERMISSIONS = ("images_app.manage_retention", "auth.change_user", "images_app.manage_notifications")


class _User:
    is_authenticated = True

    def __init__(self, granted: set[str]) -> None:
        self.granted = granted

    def has_perm(self, permission: str) -> bool:
        return permission in self.granted

    def has_module_perms(self, app_label: str) -> bool:
        return any(p.startswith(app_label + ".") for p in self.granted)


def _links(html: str) -> list[str]:
    return re.findall(r"<a [^>]*>.*?</a>", str(html))


ROLES = [set(c) for n in range(len(PERMISSIONS) + 1) for c in itertools.combinations(PERMISSIONS, n)]
SECTIONS = [
    "",
    "dashboard",
    "images",
    "pulls",
    "search",
    "requests",
    "history",
    "registries",
    "policies",
    "users",
    "notifications",
    "tokens",
]


@pytest.fixture(autouse=True)
def _fresh_cache():
    nav._links.cache_clear()


@pytest.mark.parametrize("granted", ROLES, ids=lambda g: "+".join(sorted(g)) or "viewer")
@pytest.mark.parametrize("pending", [0, 3])
def test_the_links_match_the_template_for_each_role_and_section(granted, pending):
    user = _User(granted)
    for section in SECTIONS:
        values = {
            "user": user,
            "perms": PermWrapper(user),
            "current_env": "staging-2",
            "nav_section": section,
            "pending_approvals": pending,
        }
        expected = Template(TEMPLATE_NAV).render(Context(values))

        built = nav.nav_links(Context(values))

        assert _links(built) == _links(expected) != []
        assert ("pending-badge" in built) == bool(pending)
        # One link marked, when the section's link is shown to this role.
        assert built.count('aria-current="page"') == (1 if section and f">{section.title()}<" in built else 0)


def test_kept_links_still_follow_each_role_and_environment():
    viewer, admin = _User(set()), _User(set(PERMISSIONS))
    values = {"current_env": "local", "nav_section": "images", "pending_approvals": 0}

    first = nav.nav_links(Context({**values, "user": admin}))
    as_viewer = nav.nav_links(Context({**values, "user": viewer}))
    elsewhere = nav.nav_links(Context({**values, "user": viewer, "current_env": "prod"}))

    assert ">Users</a>" in first and ">Users</a>" not in as_viewer
    assert "/env/prod/images/" in elsewhere and "/env/local/images/" in as_viewer
    assert nav.nav_links(Context({**values, "user": admin})) == first
    assert nav._links.cache_info().hits == 1
