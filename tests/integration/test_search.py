"""Search through the real engine against a loopback stand-in index (ENGINE_NOTES: "Docker Hub search, offline")."""

from __future__ import annotations

import base64
import time
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from images_app import engine
from images_app.models import Environment, Registry
from images_app.services.registries import registry_create
from tests.integration.conftest import free_port
from tests.integration.support.fake_index import PlantedResult, start_fake_index

SEARCH_URL = "/env/local/search/"

WEB_RESULTS = [
    PlantedResult("acme/webserver", "A small web server", star_count=12, is_automated=True),
    PlantedResult("webserver", "The official web server", star_count=900, is_official=True),
    PlantedResult("someone/webserver-tools", "Tools for the web server", star_count=3),
]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake_index():
    index = start_fake_index(*WEB_RESULTS)
    yield index
    index.stop()


@pytest.fixture
def index_registry(fake_index, admin_user):
    """The stand-in index registered as a registry, so Berth lets the engine ask it."""
    return Registry.objects.create(name="fake-index", url=fake_index.host, created_by=admin_user)


def _search(client, registry, **params):
    params.setdefault("index", str(registry.pk))
    return client.get(SEARCH_URL, params)


def _rows(response):
    return [
        (r.hit.name, r.hit.description, r.hit.star_count, r.hit.is_official, r.hit.is_automated)
        for r in response.context["results"].rows
    ]


def _engine_rows(docker_api, term, **params):
    """The oracle: what the engine's search endpoint answers for the same question."""
    answer = docker_api._result(
        docker_api._get(docker_api._url("/images/search"), params={"term": term, **params}), True
    )
    return [(a["name"], a["description"], a["star_count"], a["is_official"], a["is_automated"]) for a in answer]


def test_search_page_without_a_term_shows_the_form_and_asks_nobody(viewer_client, environment):
    before = engine.api_request_count()
    response = viewer_client.get(SEARCH_URL)
    assert response.status_code == 200
    assert 'name="term"' in response.content.decode()
    assert engine.api_request_count() == before


def test_results_show_what_the_engine_answers_in_the_clis_columns(
    viewer_client, environment, index_registry, fake_index, docker_api
):
    response = _search(viewer_client, index_registry, term="webserver")

    assert response.status_code == 200
    assert _rows(response) == _engine_rows(docker_api, f"{fake_index.host}/webserver", limit=25)
    assert len(_rows(response)) == 3
    html = response.content.decode()
    for header in ("Name", "Description", "Stars", "Official", "Automated"):
        assert f"<th>{header}</th>" in html or f'<th class="num">{header}</th>' in html
    assert '<td class="num stars">900</td>' in html
    assert '<td class="official">[OK]</td>' in html and '<td class="automated">[OK]</td>' in html


def test_official_only_is_applied_by_the_engine(viewer_client, environment, index_registry, fake_index):
    response = _search(viewer_client, index_registry, term="webserver", official="on")

    assert [row[0] for row in _rows(response)] == ["webserver"]
    # The index was asked for everything: the filtering happened in the engine.
    assert fake_index.queries[-1] == {"q": "webserver", "n": "25"}


def test_minimum_stars_leaves_out_less_starred_results(viewer_client, environment, index_registry):
    response = _search(viewer_client, index_registry, term="webserver", min_stars="10")

    assert sorted(row[0] for row in _rows(response)) == ["acme/webserver", "webserver"]


def test_limit_is_passed_to_the_index(viewer_client, environment, index_registry, fake_index):
    response = _search(viewer_client, index_registry, term="webserver", limit="2")

    assert len(_rows(response)) == 2
    assert fake_index.queries[-1]["n"] == "2"


@pytest.mark.parametrize("limit", ["0", "101", "many"])
def test_limit_outside_one_to_a_hundred_is_a_form_error(viewer_client, environment, index_registry, limit):
    before = engine.api_request_count()
    response = _search(viewer_client, index_registry, term="webserver", limit=limit)
    assert response.status_code == 400
    assert response.context["form"].errors["limit"]
    assert engine.api_request_count() == before


@pytest.mark.parametrize("term", ["", "   ", "web\x00server", "web\x1bserver", "x" * 201])
def test_bad_terms_are_form_errors_not_engine_calls(viewer_client, environment, term):
    before = engine.api_request_count()
    response = viewer_client.get(SEARCH_URL, {"term": term})
    assert response.status_code == 400
    assert response.context["form"].errors["term"]
    assert engine.api_request_count() == before


def test_a_host_that_is_not_a_registered_registry_is_refused(viewer_client, environment):
    before = engine.api_request_count()
    response = viewer_client.get(SEARCH_URL, {"term": f"localhost:{free_port()}/webserver"})
    assert response.status_code == 400
    assert "not a registered registry" in response.context["form"].errors["term"][0]
    assert engine.api_request_count() == before


def test_a_term_naming_a_registered_host_searches_that_index(viewer_client, environment, index_registry, fake_index):
    response = viewer_client.get(SEARCH_URL, {"term": f"{fake_index.host}/webserver"})
    assert response.status_code == 200
    assert len(_rows(response)) == 3
    assert response.context["results"].query.registry_id == index_registry.pk


def test_the_same_search_again_comes_from_the_cache_and_says_so(viewer_client, environment, index_registry, fake_index):
    first = _search(viewer_client, index_registry, term="webserver")
    assert "From cache" not in first.content.decode()

    before = engine.api_request_count()
    second = _search(viewer_client, index_registry, term="webserver")

    assert engine.api_request_count() == before  # the engine was not asked at all
    assert fake_index.search_count() == 1
    assert _rows(second) == _rows(first)
    html = second.content.decode()
    assert 'id="search-cached"' in html and "From cache, fetched" in html


def test_other_filters_are_not_answered_from_the_cache(viewer_client, environment, index_registry, fake_index):
    _search(viewer_client, index_registry, term="webserver")
    response = _search(viewer_client, index_registry, term="webserver", official="on")
    assert fake_index.search_count() == 2
    assert not response.context["results"].from_cache


def test_ask_again_bypasses_the_cache(viewer_client, environment, index_registry, fake_index):
    _search(viewer_client, index_registry, term="webserver")
    response = _search(viewer_client, index_registry, term="webserver", refresh="1")
    assert fake_index.search_count() == 2
    assert not response.context["results"].from_cache


@override_settings(BERTH_SEARCH_CACHE_SECONDS=0)
def test_cache_seconds_zero_always_asks_the_index(viewer_client, environment, index_registry, fake_index):
    _search(viewer_client, index_registry, term="webserver")
    _search(viewer_client, index_registry, term="webserver")
    assert fake_index.search_count() == 2


def test_index_down_shows_a_clear_message_and_the_rest_of_berth_works(
    viewer_client, environment, index_registry, fake_index
):
    fake_index.stop()  # the port is closed now: nobody answers there

    response = _search(viewer_client, index_registry, term="webserver")

    assert response.status_code == 503
    html = unescape(response.content.decode())
    assert "Search is not available right now" in html
    assert f"The image index ({fake_index.host}) is not answering: the connection was refused" in html
    assert 'name="term"' in html  # the form is still there to try again
    assert viewer_client.get("/env/local/images/").status_code == 200


def test_a_failed_search_is_not_cached(viewer_client, environment, index_registry, fake_index, admin_user):
    port = free_port()
    down = Registry.objects.create(name="down", url=f"localhost:{port}", created_by=admin_user)
    assert _search(viewer_client, down, term="webserver").status_code == 503
    assert _search(viewer_client, down, term="webserver").status_code == 503


def test_html_in_results_is_shown_as_text(viewer_client, environment, index_registry, fake_index):
    fake_index.plant(
        PlantedResult("evil/webserver", '<script>alert("x")</script><img src=x onerror=alert(1)> webserver', 1)
    )
    response = _search(viewer_client, index_registry, term="webserver")
    html = response.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_result_name_no_engine_could_pull_gets_no_pull_link(operator_client, environment, index_registry, fake_index):
    fake_index.plant(PlantedResult('x"><script>webserver', "odd"))
    with override_settings(ROOT_URLCONF="tests.integration.support.pull_urls"):
        response = _search(operator_client, index_registry, term="webserver")
    assert response.context["results"].rows[0].pull_reference is None
    assert ">Pull</a>" not in response.content.decode()


@override_settings(ROOT_URLCONF="tests.integration.support.pull_urls")
def test_each_result_links_to_the_pull_form_with_its_reference(
    operator_client, environment, index_registry, fake_index
):
    response = _search(operator_client, index_registry, term="webserver", official="on")

    html = response.content.decode()
    start = html.index('href="', html.index('<td class="actions">')) + len('href="')
    href = unescape(html[start : html.index('"', start)])
    url = urlsplit(href)
    assert url.path == reverse("pull_create", kwargs={"env": "local"})
    assert parse_qs(url.query) == {"reference": [f"{fake_index.host}/webserver"], "registry": [str(index_registry.pk)]}


@override_settings(ROOT_URLCONF="tests.integration.support.pull_urls")
def test_viewers_get_no_pull_button(viewer_client, environment, index_registry):
    response = _search(viewer_client, index_registry, term="webserver")
    assert len(_rows(response)) == 3
    assert ">Pull</a>" not in response.content.decode()


def test_a_registered_index_gets_its_registrys_credentials_through_the_engine(
    viewer_client, environment, fake_index, admin_user
):
    registry = registry_create(
        actor=admin_user, name="nexus", url=fake_index.host, username="robot", password="index-secret"
    )
    _search(viewer_client, registry, term="webserver")
    expected = "Basic " + base64.b64encode(b"robot:index-secret").decode()
    assert fake_index.authorizations == [expected]


def test_an_anonymous_registered_index_gets_no_credentials(viewer_client, environment, index_registry, fake_index):
    _search(viewer_client, index_registry, term="webserver")
    assert fake_index.authorizations == [None]


@override_settings(BERTH_SEARCH_TIMEOUT=1)
def test_a_slow_index_gets_a_clear_message_not_a_hanging_page(viewer_client, environment, index_registry, fake_index):
    fake_index.delay_seconds = 4
    started = time.monotonic()
    response = _search(viewer_client, index_registry, term="webserver")
    assert time.monotonic() - started < 3.5
    assert response.status_code == 503
    assert f"The image index ({fake_index.host}) did not answer within 1 s" in unescape(response.content.decode())


def test_an_engine_that_is_down_is_a_503_page_not_a_500(viewer_client, db, tmp_path):
    Environment.objects.create(name="gone", docker_host=f"unix://{tmp_path}/no-such.sock")
    response = viewer_client.get("/env/gone/search/", {"term": "webserver"})
    assert response.status_code == 503
    assert "The Docker Engine is not answering" in unescape(response.content.decode())
