"""Property-based fuzzing of the API from its committed OpenAPI schema (Schemathesis) on the real engine.

For every operation and every role, Hypothesis generates requests that the schema allows;
each goes to the real ASGI server, and the response must not be a 5xx other than the
documented 503, its status must be documented, and its body must match the schema. A
viewer's whole run changes nothing anywhere. `make test` runs BERTH_FUZZ_EXAMPLES (default 6)
examples per operation and role; `make api-fuzz` runs 200.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from images_app.models import ApiToken, AuditEvent, CleanupRequest, PullJob, Registry, RemovalJob
from images_app.models.cleanup import RemovalKind
from images_app.roles import ADMIN, OPERATOR, VIEWER
from images_app.services import removal
from images_app.services.cleanup_requests import cleanup_request_create
from images_app.services.registries import registry_create
from tests.integration.support.api import token_for
from tooling.processes import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

SCHEMA = schemathesis.openapi.from_path(str(Path(REPO_ROOT) / "docs" / "openapi.yaml"))
EXAMPLES = int(os.environ.get("BERTH_FUZZ_EXAMPLES", "6"))
# A stream of a live pull lasts as long as the pull: the fuzzer would wait on it. The endpoint
# tests cover it (tests/integration/test_api_endpoints.py).
SKIPPED = {"GET /api/v1/environments/{env}/pulls/{pk}/events/"}
OPERATIONS = [op.ok() for op in SCHEMA.get_all_operations() if op.ok().label not in SKIPPED]
# For roles that may pull: a generated reference would send the suite's real worker after it on the
# internet (offline here: each waits on DNS) and keep it from later tests. A viewer's attempts are
# refused before any queue, so they stay; tests/integration/test_api_endpoints.py covers pulls that run.
MAY_PULL_SKIPPED = {"POST /api/v1/environments/{env}/pulls/"}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def world(live_url, environment, images, unique_name, viewer, operator, admin_user):
    """Something for every endpoint to find: images (one in use), a request, a registry, events."""
    tag = f"{unique_name('fuzz')}:v1"
    images.build(tag, busybox=False)
    plan = removal.removal_plan(environment=environment, refs=[tag])
    items = removal.removal_confirm(plan=plan, snapshot=plan.snapshot(force=False), force=False)
    cleanup_request_create(environment=environment, kind=RemovalKind.REMOVE, items=items, reason="fuzz", actor=operator)
    registry_create(actor=admin_user, name="fuzz", url="localhost:5977")
    return {VIEWER: token_for(viewer), OPERATOR: token_for(operator), ADMIN: token_for(admin_user)}


def _state(docker_api) -> tuple:
    return (
        sorted(i["Id"] for i in docker_api.images(all=True)),
        sorted(PullJob.objects.values_list("pk", "status")),
        sorted(CleanupRequest.objects.values_list("pk", "status")),
        sorted(RemovalJob.objects.values_list("pk", "status")),
        sorted(Registry.objects.values_list("pk", "name", "url", "username")),
        sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        AuditEvent.objects.exclude(outcome="denied").exclude(action="api_token_new_address").count(),
    )


def _fuzz(operation, base_url: str, token: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=60
        )

    run()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_a_viewer_gets_schema_conforming_answers_and_changes_nothing(live_url, world, docker_api, operation):
    before = _state(docker_api)
    _fuzz(operation, live_url, world[VIEWER])
    assert _state(docker_api) == before


@pytest.mark.parametrize("role", [OPERATOR, ADMIN])
def test_operators_and_admins_get_schema_conforming_answers_everywhere(live_url, world, role):
    for operation in OPERATIONS:
        if operation.label not in MAY_PULL_SKIPPED:
            _fuzz(operation, live_url, world[role])
