"""Bad input, generated: every value a person or a script can put in a form or a URL gets a clear
400/404 (or a clean fallback), never a 500, and invalid values never reach the engine.

Property-based (hypothesis) with small example counts so the file stays fast; the
Django test client talks to the real engine and Redis.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from images_app import engine
from images_app.forms.images import ImageFilterForm
from images_app.models import CleanupRequest, PullJob, Registry, RemovalJob
from images_app.references import BadReference, parse_reference
from images_app.services.audit import audit_record
from tests.integration.conftest import PASSWORD
from tests.integration.test_access_walk import all_urls
from tests.unit.test_references import near_reference_text, reference_parts, render

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text a browser or a script can send: any Unicode but lone surrogates (not encodable in a URL).
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
hostile_text = st.one_of(
    any_text,
    near_reference_text,
    st.sampled_from(["<script>", "' OR 1=1 --", "../../etc/passwd", "%00", "\x00", "9" * 40, "-1", "1e9", "NaN"]),
)


def _is_valid_reference(text: str) -> bool:
    text = text.strip()  # the form's CharField strips
    if not text or len(text) > 512:
        return False
    try:
        parse_reference(text)
    except BadReference:
        return False
    return True


# --- the pull form -------------------------------------------------------------


@FAST
@given(text=st.one_of(hostile_text, reference_parts().map(lambda p: render(*p) + "!")))
def test_an_invalid_reference_is_a_form_error_and_never_reaches_the_engine(operator_client, environment, text):
    assume(not _is_valid_reference(text))
    jobs, calls = PullJob.objects.count(), engine.api_request_count()
    response = operator_client.post("/env/local/pulls/new/", {"reference": text})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert PullJob.objects.count() == jobs
    assert engine.api_request_count() == calls


def test_a_reference_with_a_nul_byte_is_a_form_error(operator_client, environment):
    response = operator_client.post("/env/local/pulls/new/", {"reference": "busybox\x00:latest"})
    assert response.status_code == 400
    assert PullJob.objects.count() == 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=reference_parts())
def test_every_valid_reference_is_accepted_by_the_pull_form(operator_client, environment, parts):
    text = render(*parts)
    calls = engine.api_request_count()
    response = operator_client.post("/env/local/pulls/new/", {"reference": text})
    # With the `db` fixture nothing commits, so no task is sent: the job stays queued.
    assert response.status_code == 302, response.content.decode()[:500]
    job = PullJob.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))
    assert job.reference == str(parse_reference(text))
    assert engine.api_request_count() == calls  # the worker pulls, not the web request


# --- the images list -----------------------------------------------------------

LIST_PARAMS = ["q", "status", "reference", "before", "since", "label", "sort", "order", "page"]
list_values = st.one_of(
    hostile_text,
    st.sampled_from(["repository", "tag", "id", "created", "size", "status", "asc", "desc", "unused", "dangling"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@FAST
@given(query=st.dictionaries(st.sampled_from(LIST_PARAMS), list_values, max_size=4))
def test_any_images_list_query_is_a_page_or_a_400(viewer_client, environment, query):
    calls = engine.api_request_count()
    response = viewer_client.get("/env/local/images/", query)
    assert response.status_code in (200, 400), (query, response.status_code)
    if not ImageFilterForm(query).is_valid():
        assert response.status_code == 400
        assert engine.api_request_count() == calls, f"invalid filters {query} reached the engine"


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999999", "1.5", "", "last"])
def test_any_page_number_falls_back_to_a_real_page(viewer_client, environment, page):
    response = viewer_client.get("/env/local/images/", {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number >= 1


# --- the audit history ---------------------------------------------------------

AUDIT_PARAMS = ["actor", "action", "outcome", "environment", "target", "date_from", "date_to", "pull_job"]
audit_values = st.one_of(
    hostile_text,
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@pytest.fixture
def some_events(environment):
    for index in range(3):
        audit_record(action="pull_requested", outcome="success", environment=environment, target_reference=f"a:{index}")


@FAST
@given(
    query=st.dictionaries(st.sampled_from([*AUDIT_PARAMS, "before", "after", "removal_job"]), audit_values, max_size=4)
)
def test_any_audit_query_or_cursor_is_a_page_or_a_400(viewer_client, some_events, query):
    response = viewer_client.get(reverse("audit_list"), query)
    assert response.status_code in (200, 400), (query, response.status_code)


@FAST
@given(
    fmt=st.one_of(st.sampled_from(["csv", "json", "jsonl", "xml", "CSV", ""]), any_text),
    query=st.dictionaries(st.sampled_from(AUDIT_PARAMS), audit_values, max_size=3),
)
def test_any_audit_export_request_is_a_file_or_a_4xx(admin_client, some_events, fmt, query):
    assume("\x00" not in fmt and "/" not in fmt)
    response = admin_client.get("/audit/export." + fmt, query)
    assert response.status_code in (200, 400, 404), (fmt, query, response.status_code)
    if response.status_code == 200 and response.streaming:
        b"".join(response.streaming_content)  # the whole file is produced without an error


# --- IDs in URLs -----------------------------------------------------------------

PK_PAGES = [
    "/env/local/pulls/{}/",
    "/env/local/pulls/{}/events/",
    "/requests/{}/",
    "/env/local/removals/{}/",
    "/audit/{}/",
    "/registries/{}/",
    "/registries/{}/edit/",
]


@FAST
@given(pk=st.one_of(st.integers(min_value=10**7, max_value=2**80), st.just(0), st.just(2**63), st.just(2**63 - 1)))
def test_unknown_numeric_ids_are_404_not_500(admin_client, environment, pk):
    for pattern in PK_PAGES:
        url = pattern.format(pk)
        response = admin_client.get(url)
        assert response.status_code == 404, (url, response.status_code)


@FAST
@given(segment=st.one_of(any_text, st.text("0123456789abcdef", min_size=12, max_size=64)))
def test_unknown_image_ids_and_junk_segments_are_404_not_500(viewer_client, environment, segment):
    assume(segment.strip("/") and "\x00" not in segment and "?" not in segment and "#" not in segment)
    for prefix in ("/env/local/images/", "/env/local/pulls/", "/audit/", "/env/"):
        response = viewer_client.get(prefix + segment + "/")
        assert response.status_code in (301, 302, 400, 404), (prefix + segment, response.status_code)


# --- mutating actions never on GET -------------------------------------------------


@pytest.fixture
def one_of_everything(environment, admin_user, operator):
    """A row of each kind, so pages keyed by a pk show something real to the walk."""
    now = dt.datetime.now(dt.UTC)
    pull = PullJob.objects.create(
        environment=environment, reference="localhost:5000/walk:v1", requested_by=operator, status="succeeded"
    )
    request = CleanupRequest.objects.create(
        environment=environment, items=[], reason="walk", requested_by=operator, expires_at=now + dt.timedelta(days=1)
    )
    removal = RemovalJob.objects.create(environment=environment, items=[], created_by=admin_user, status="succeeded")
    registry = Registry.objects.create(name="walk-registry", url="localhost:1", created_by=admin_user)
    event = audit_record(action="pull_requested", outcome="success", environment=environment)
    return {
        "pull": pull.pk,
        "request": request.pk,
        "removal": removal.pk,
        "registry": registry.pk,
        "user": operator.pk,
        "audit": event.pk,
    }


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (PullJob, CleanupRequest, RemovalJob, Registry, get_user_model())
    }


def test_no_get_by_an_admin_changes_anything(
    admin_client, environment, images, unique_name, docker_api, one_of_everything
):
    sample = images.build(f"{unique_name('getwalk')}:v1", busybox=False)
    images_before = sorted((i["Id"], tuple(i.get("RepoTags") or ())) for i in docker_api.images(all=True))
    counts_before = _counts()
    statuses_before = {
        "pull": PullJob.objects.get(pk=one_of_everything["pull"]).status,
        "request": CleanupRequest.objects.get(pk=one_of_everything["request"]).status,
        "removal": RemovalJob.objects.get(pk=one_of_everything["removal"]).status,
    }
    urls = all_urls(sample)
    pk_for = {
        "pull": "pull",
        "request": "request",
        "removal": "removal",
        "registr": "registry",
        "user": "user",
        "audit": "audit",
    }
    visited = 0
    for name, url in urls:
        if name in ("logout",):
            continue
        key = next((v for k, v in pk_for.items() if k in name), None)
        if key and "/1/" in url:
            url = url.replace("/1/", f"/{one_of_everything[key]}/", 1)
        for suffix in ("", "?confirm=local&force=on&reason=walk&reference=busybox&approve=1"):
            response = admin_client.get(url + suffix)
            # 503 is an honest answer here: the planted registry (localhost:1) does not answer.
            assert response.status_code < 500 or response.status_code == 503, (
                f"GET {url}{suffix}: {response.status_code}"
            )
            visited += 1
    assert visited >= 20
    assert sorted((i["Id"], tuple(i.get("RepoTags") or ())) for i in docker_api.images(all=True)) == images_before
    assert _counts() == counts_before
    assert {
        "pull": PullJob.objects.get(pk=one_of_everything["pull"]).status,
        "request": CleanupRequest.objects.get(pk=one_of_everything["request"]).status,
        "removal": RemovalJob.objects.get(pk=one_of_everything["removal"]).status,
    } == statuses_before


# --- no open redirect through next= ----------------------------------------------------

next_values = st.one_of(
    any_text,
    st.builds(
        lambda scheme, sep, host, path: f"{scheme}{sep}{host}{path}",
        st.sampled_from(["", "http:", "https:", "javascript:", "HTTPS:", " https:", "\t//"]),
        st.sampled_from(["", "//", "/\\", "\\\\", "///", "/%2F", "%2F%2F", "/\t/"]),
        st.sampled_from(["evil.example", "evil.example@testserver", "testserver@evil.example", "127.0.0.1:1"]),
        st.sampled_from(["", "/", "/x?y=1", "#z"]),
    ),
)


def _stays_on_site(location: str) -> bool:
    """Where a browser would go, read as browsers do (backslashes as slashes, tabs and newlines dropped)."""
    from urllib.parse import urljoin, urlsplit

    browser_view = "".join(ch for ch in location if ch not in "\t\n\r").replace("\\", "/")
    target = urlsplit(urljoin("http://testserver/login/", browser_view))
    return target.scheme == "http" and target.netloc == "testserver"


@FAST
@given(next_url=next_values)
def test_login_and_logout_never_redirect_off_site(client, viewer, next_url):
    response = client.post("/login/", {"username": "vera", "password": PASSWORD, "next": next_url})
    assert response.status_code == 302
    assert _stays_on_site(response["Location"]), (next_url, response["Location"])
    response = client.post("/logout/", {"next": next_url})
    assert response.status_code == 302
    assert _stays_on_site(response["Location"]), (next_url, response["Location"])
