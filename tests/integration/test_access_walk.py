"""Walk every URL Berth has: login is required everywhere, viewers change nothing, CSRF everywhere.

The walk is generated from the URL resolver, so a page added later is covered
without anyone remembering to add it here.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from images_app.models import AuditEvent

# Pages that exist for people who are not logged in.
PUBLIC = {"login", "setup"}
# What a viewer may POST: their own API tokens (a viewer's token is as read-only as the viewer).
# The form is empty here (no name), so it answers 400 and still changes nothing.
VIEWER_MAY_POST = {"token_list", "token_revoke"}
# Django admin pages are guarded by the admin site itself.
# The JSON API answers 401 as JSON instead of a login redirect: tests/integration/test_api_roles.py walks it.
SKIP_PREFIXES = ("admin:", "api:")
# A person's own settings, which every role may change (they touch no engine and nobody else).
OWN_SETTINGS = {"notification_preferences"}


def _sample_kwargs(params: list[str], image_id: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for param in params:
        if param == "env":
            values[param] = "local"
        elif param in ("image_id", "image", "ref", "reference"):
            values[param] = image_id
        elif param in ("pk", "id") or param.endswith("_id"):
            values[param] = 1
        else:
            values[param] = "x"
    return values


def all_urls(image_id: str) -> list[tuple[str, str]]:
    resolver = get_resolver()
    urls = []
    names = [key for key in resolver.reverse_dict.keys() if isinstance(key, str)]
    for namespace, (_prefix, sub) in resolver.namespace_dict.items():
        names.extend(f"{namespace}:{key}" for key in sub.reverse_dict.keys() if isinstance(key, str))
    for name in sorted(set(names)):
        if name.startswith(SKIP_PREFIXES):
            continue
        possibilities = resolver.reverse_dict.getlist(name) if ":" not in name else []
        params = possibilities[0][0][0][1] if possibilities else []
        try:
            urls.append((name, reverse(name, kwargs=_sample_kwargs(list(params), image_id) or None)))
        except Exception:  # noqa: BLE001  (a converter refusing our sample: try without kwargs)
            continue
    return urls


@pytest.fixture
def sample_image(images, unique_name):
    return images.build(f"{unique_name('walk')}:v1", busybox=False)


def test_every_page_sends_anonymous_people_to_login(client, db, sample_image, viewer):
    urls = all_urls(sample_image)
    assert len(urls) >= 5
    for name, url in urls:
        if name in PUBLIC:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method.upper()} {url} ({name}) answered {response.status_code}"
            assert response["Location"].startswith("/login/"), f"{url} redirected to {response['Location']}"


def test_a_viewer_can_change_nothing(viewer_client, environment, sample_image, docker_api):
    images_before = sorted(i["Id"] for i in docker_api.images(all=True))
    events_before = AuditEvent.objects.count()
    accepted = []
    for name, url in all_urls(sample_image):
        if name in PUBLIC or name in OWN_SETTINGS or name == "logout":
            continue
        response = viewer_client.post(url, {"force": "on", "confirm": "local", "reason": "walk", "reference": "x"})
        refused = (403, 404, 405) + ((400,) if name in VIEWER_MAY_POST else ())
        if response.status_code not in refused:
            accepted.append(f"{url} ({name}): {response.status_code}")
    assert accepted == [], "viewer POSTs that were not refused"
    assert sorted(i["Id"] for i in docker_api.images(all=True)) == images_before
    assert AuditEvent.objects.exclude(outcome="denied").count() == events_before


def test_every_post_needs_a_csrf_token(admin_user, environment, sample_image):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    accepted = []
    for name, url in all_urls(sample_image):
        if name in ("login",):
            continue
        response = client.post(url, {})
        if response.status_code not in (403, 404, 405):
            accepted.append(f"{url} ({name}): {response.status_code}")
    assert accepted == [], "POSTs without a CSRF token that were not refused"


def test_no_page_answers_get_with_a_server_error(admin_client, environment, sample_image):
    failed = []
    for name, url in all_urls(sample_image):
        if name == "logout":
            continue
        response = admin_client.get(url)
        if response.status_code >= 500:
            failed.append(f"{url} ({name}): {response.status_code}")
    assert failed == []
