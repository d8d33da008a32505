"""What an API request costs the engine: a constant number of calls, whatever the number of images.

In-process (Django's test client with a token) so the engine calls of this process can be counted.
"""

from __future__ import annotations

import pytest
from django.test import Client

from images_app import engine
from tests.integration.support.api import token_for

LIST = "/api/v1/environments/local/images/"


@pytest.fixture
def token_client(viewer) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(viewer)}")


def _calls(client: Client, url: str, **params: str) -> int:
    before = engine.api_request_count()
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return engine.api_request_count() - before


def test_the_images_endpoint_costs_two_engine_calls_at_any_size_and_filter(
    token_client, environment, images, unique_name
):
    name = unique_name("apicost")
    token_client.get(LIST)  # the client's version negotiation happens once per process
    few = _calls(token_client, LIST, q=name)
    for n in range(12):
        images.build(f"{name}-{n}:v1", busybox=False)
    many = _calls(token_client, LIST, q=name, status="unused", sort="size", order="asc", label="berth.test")
    assert few == many == 2


def test_one_image_costs_four_engine_calls_as_its_page(token_client, environment, images, unique_name):
    image_id = images.build(f"{unique_name('apicost1')}:v1", busybox=False)
    token_client.get(LIST)
    assert _calls(token_client, f"/api/v1/environments/local/images/{image_id.removeprefix('sha256:')[:12]}/") == 4


def test_reads_without_the_engine_cost_no_engine_call(token_client, environment):
    token_client.get(LIST)
    for url in ("/api/v1/me/", "/api/v1/environments/", "/api/v1/requests/", "/api/v1/audit/events/"):
        assert _calls(token_client, url) == 0, url
