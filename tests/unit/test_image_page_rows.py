"""The image page's lines by tag, built in Python: the same markup the template loops made."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from images_app.templatetags import image_rows
from images_app.update_state import UnknownReason, UpdateState, Verdict

# The template loops these functions replaced, word for word (commit 48a463b), to compare against.
TAGS_LOOP = (
    '{% for tag in tags %}<code class="tag-chip">{{ tag }}</code>{% if pull_url %} <a class="pull-again" '
    'href="{{ pull_url }}?reference={{ tag|urlencode }}" title="Pull {{ tag }} again">↻</a>{% endif %}'
    '{% if not forloop.last %}<br>{% endif %}{% empty %}<span class="muted">none (dangling)</span>{% endfor %}'
)
UPDATES_LOOP = """{% load berth %}{% for tag, verdict in updates %}
      <tr class="update-{{ verdict.state }}" data-tag="{{ tag }}">
        <td><code>{{ tag }}</code></td>
        <td><span class="badge {% if verdict.state == 'update_available' %}badge-update{% elif verdict.state == 'up_to_date' %}badge-current{% else %}badge-update-unknown{% endif %}"{% if verdict.message %} title="{{ verdict.message }}"{% endif %}>{{ verdict.label }}</span></td>
        <td>{% if verdict.remote_digest %}<code class="remote-digest">{{ verdict.remote_digest }}</code>{% else %}—{% endif %}</td>
        <td class="remote-created">{% if verdict.remote_created %}<time datetime="{{ verdict.remote_created|date:'c' }}">{{ verdict.remote_created|date:'Y-m-d H:i:s T' }}</time> ({{ verdict.remote_created|age }}){% else %}—{% endif %}</td>
        <td>{% if verdict.checked_at %}<span title="{{ verdict.checked_at|date:'Y-m-d H:i:s T' }}">{{ verdict.checked_at|age }}</span>{% else %}—{% endif %}</td>
        <td>{% if verdict.outdated and pull_url %}<a class="button pull-update" href="{{ pull_url }}?reference={{ tag|urlencode }}">Pull update</a>{% endif %}</td>
      </tr>
    {% endfor %}"""  # noqa: E501  (the template's own lines)

PULL_URL = "/env/local/pulls/new/"
TAGS = ["registry.example:5000/team/app:1.2", "app:<b>&\"'", "ghcr.io/o/n:latest"]


def _verdicts() -> list[tuple[str, Verdict]]:
    now = timezone.now()
    checked, created = now - timedelta(hours=3, minutes=2), now - timedelta(days=40, seconds=7, microseconds=5)
    return [
        (
            "app:1",
            Verdict(
                UpdateState.UPDATE_AVAILABLE,
                remote_digest="sha256:" + "b" * 64,
                checked_at=checked,
                remote_created=created,
            ),
        ),
        ("app:2", Verdict(UpdateState.UP_TO_DATE, remote_digest="sha256:" + "c" * 64, checked_at=checked)),
        (
            'a&p:<"3">',
            Verdict(
                UpdateState.UNKNOWN,
                reason=UnknownReason.UNREACHABLE,
                checked_at=checked,
                message='connection refused <127.0.0.1> & "more"',
            ),
        ),
        ("app:4", Verdict(UpdateState.UNKNOWN, reason=UnknownReason.NOT_CHECKED)),
        ("app:5", Verdict(UpdateState.UNKNOWN)),
    ]


def _between_tags(html: str) -> str:
    """Whitespace between elements is not markup: the template's indentation is left out."""
    return re.sub(r">\s+<", "><", str(html).strip())


@pytest.mark.parametrize("pull_url", [PULL_URL, ""])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
def test_update_rows_match_the_template_loop(pull_url, zone):
    updates = _verdicts()
    with timezone.override(zone):
        expected = Template(UPDATES_LOOP).render(Context({"updates": updates, "pull_url": pull_url}))
        built = image_rows.update_rows(updates, pull_url)

    assert _between_tags(built) == _between_tags(expected)
    assert ("pull-update" in built) == bool(pull_url)
    assert "&lt;127.0.0.1&gt; &amp; &quot;more&quot;" in built  # the message, escaped once


@pytest.mark.parametrize("pull_url", [PULL_URL, ""])
@pytest.mark.parametrize("tags", [TAGS, TAGS[:1], []])
def test_tag_chips_match_the_template_loop(pull_url, tags):
    expected = Template(TAGS_LOOP).render(Context({"tags": tags, "pull_url": pull_url}))

    assert str(image_rows.tag_chips(tags, pull_url)) == expected


def test_tag_chips_escape_and_quote_each_tag():
    html = image_rows.tag_chips(["app:<b>&\"'"], PULL_URL)

    assert '<code class="tag-chip">app:&lt;b&gt;&amp;&quot;&#x27;</code>' in html
    assert f'href="{PULL_URL}?reference=app%3A%3Cb%3E%26%22%27"' in html
