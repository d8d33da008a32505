"""The role matrix extended to the API: every endpoint, every role, the expected status, over real HTTP.

The table is written out by hand; `test_the_table_covers_every_api_endpoint` fails when an endpoint
is added without an entry. Every path with a pk points at a real object, so a 404 never passes
for a refusal. Allowed changes must have their effect; refused ones answer 403 and change nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import get_resolver

from images_app.models import ApiToken, AuditEvent, CleanupRequest, PullJob, Registry, RemovalJob, RetentionPolicy
from images_app.models.cleanup import RemovalKind
from images_app.roles import ADMIN, OPERATOR, VIEWER
from images_app.services import removal
from images_app.services.cleanup_requests import cleanup_request_create
from images_app.services.registries import registry_create
from tests.integration.support.api import api_client, token_for
from tests.integration.support.fake_index import PlantedResult, start_fake_index

pytestmark = pytest.mark.usefixtures("transactional_db")

ANONYMOUS, NO_ROLE = "anonymous", "no-role"
ROLES = (ANONYMOUS, NO_ROLE, VIEWER, OPERATOR, ADMIN)
STAFF = frozenset({VIEWER, OPERATOR, ADMIN})
CHANGERS = frozenset({OPERATOR, ADMIN})
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Rule:
    method: str
    allowed: frozenset[str]
    ok: int | dict[str, int] = 200  # the allowed roles' status (per role when it differs)


# url name (namespace api) -> the methods it answers and who may use them.
TABLE: dict[str, list[Rule]] = {
    "me": [Rule("GET", STAFF)],
    "environments": [Rule("GET", STAFF)],
    "image_list": [Rule("GET", STAFF)],
    "image_detail": [Rule("GET", STAFF)],
    "pull_list": [Rule("GET", STAFF), Rule("POST", CHANGERS, 201)],
    "pull_detail": [Rule("GET", STAFF)],
    "pull_cancel": [Rule("POST", CHANGERS)],  # an operator cancels their own pull, an admin any
    "pull_events": [Rule("GET", STAFF)],
    "removal_preview": [Rule("GET", CHANGERS)],
    "removal_create": [Rule("POST", CHANGERS, {OPERATOR: 201, ADMIN: 200})],  # a request, or the removal
    "removal_job": [Rule("GET", STAFF)],
    "search": [Rule("GET", STAFF)],
    "updates": [Rule("GET", STAFF)],
    "updates_check": [Rule("POST", CHANGERS, 202)],
    "policy_list": [Rule("GET", ADMINS), Rule("POST", ADMINS, 201)],
    "policy_detail": [Rule("GET", ADMINS), Rule("PUT", ADMINS)],
    "policy_preview": [Rule("GET", ADMINS)],
    "policy_run": [Rule("POST", ADMINS)],
    "request_list": [Rule("GET", STAFF)],
    "request_detail": [Rule("GET", STAFF)],
    "request_approve": [Rule("POST", ADMINS)],
    "request_reject": [Rule("POST", ADMINS)],
    "registry_list": [Rule("GET", STAFF), Rule("POST", ADMINS, 201)],
    "registry_detail": [Rule("GET", STAFF), Rule("PUT", ADMINS), Rule("DELETE", ADMINS, 204)],
    "audit_list": [Rule("GET", STAFF)],
    "audit_detail": [Rule("GET", STAFF)],
    "audit_export": [Rule("GET", ADMINS)],
    "schema": [Rule("GET", STAFF)],
    "docs": [Rule("GET", STAFF)],
}
# The catch-all answers JSON 404 for any path the API does not have.
EXEMPT = {"not_found"}


def api_names() -> set[str]:
    _prefix, resolver = get_resolver().namespace_dict["api"]
    return {key for key in resolver.reverse_dict.keys() if isinstance(key, str)}


def test_the_table_covers_every_api_endpoint() -> None:
    assert set(TABLE) | EXEMPT == api_names()


@dataclass
class World:
    environment: Any
    users: dict[str, Any]
    tokens: dict[str, str]
    images: Any
    tag: str
    image_id: str
    finished_pull: PullJob
    removal_job: RemovalJob
    cleanup_request: CleanupRequest
    registry: Registry
    event: AuditEvent
    index_registry: Registry
    policy: RetentionPolicy
    made: list[str] = field(default_factory=list)


def _pending(world: World, tag: str) -> CleanupRequest:
    plan = removal.removal_plan(environment=world.environment, refs=[tag])
    items = removal.removal_confirm(plan=plan, snapshot=plan.snapshot(force=False), force=False)
    return cleanup_request_create(
        environment=world.environment,
        kind=RemovalKind.REMOVE,
        items=items,
        reason="matrix",
        actor=world.users[OPERATOR],
    )


@pytest.fixture
def fake_index():
    index = start_fake_index(PlantedResult("acme/matrix", "for the matrix", star_count=1))
    yield index
    index.stop()


@pytest.fixture
def world(live_url, environment, images, viewer, operator, admin_user, make_user, fake_index) -> World:
    users = {VIEWER: viewer, OPERATOR: operator, ADMIN: admin_user, NO_ROLE: make_user("nobody", None)}
    tokens = {role: token_for(user) for role, user in users.items()}
    tag = f"apimatrix-{secrets.token_hex(3)}:v1"
    image_id = images.build(tag, busybox=False)
    finished = PullJob.objects.create(
        environment=environment,
        reference="localhost:1/matrix-done:v1",
        requested_by=operator,
        status=PullJob.Status.SUCCEEDED,
    )
    job = removal.removal_job_create(environment=environment, kind=RemovalKind.REMOVE, items=[], actor=admin_user)
    registry = registry_create(actor=admin_user, name="matrix", url="localhost:5981")
    index_registry = Registry.objects.create(name="matrix-index", url=fake_index.host, created_by=admin_user)
    world = World(
        environment=environment,
        users=users,
        tokens=tokens,
        images=images,
        tag=tag,
        image_id=image_id,
        finished_pull=finished,
        removal_job=job,
        cleanup_request=None,  # type: ignore[arg-type]
        registry=registry,
        event=AuditEvent.objects.order_by("-id").first(),
        index_registry=index_registry,
        # Excludes every image: previewing or running it on the shared engine removes nothing.
        policy=RetentionPolicy.objects.create(
            name="api-matrix", environment=environment, unused_days=30, exclude_references="*", owner=admin_user
        ),
    )
    world.cleanup_request = _pending(world, tag)
    return world


@dataclass
class Call:
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    effect: Callable[[], bool] | None = None  # for changes: the allowed role's real effect happened


def _call(world: World, name: str, method: str, role: str) -> Call:
    """The request for `name` by `role`, with a fresh object to act on for changes."""
    env = f"/api/v1/environments/{world.environment.name}"
    short = world.image_id.removeprefix("sha256:")[:12]
    operator = world.users[OPERATOR]
    if name == "pull_list" and method == "POST":
        ref = f"localhost:1/matrix-{role}-{secrets.token_hex(2)}:v1"
        return Call(f"{env}/pulls/", {"reference": ref}, effect=lambda: PullJob.objects.filter(reference=ref).exists())
    if name == "pull_cancel":
        job = PullJob.objects.create(
            environment=world.environment,
            reference=f"localhost:1/matrix-c-{secrets.token_hex(2)}:v1",
            requested_by=operator,
        )
        if role in (OPERATOR,):
            job.requested_by = world.users[role]
            job.save()
        return Call(
            f"{env}/pulls/{job.pk}/cancel/", {}, effect=lambda: PullJob.objects.get(pk=job.pk).status == "cancelled"
        )
    if name == "removal_create":
        tag = f"apimatrix-rm-{secrets.token_hex(3)}:v1"
        image_id = world.images.build(tag, busybox=False)
        plan = removal.removal_plan(environment=world.environment, refs=[tag])
        body = {"refs": [tag], "snapshot": removal.items_to_json(plan.snapshot(force=False)), "reason": "matrix"}

        def removed_or_requested() -> bool:
            if role == ADMIN:
                return not world.images.api.images(filters={"reference": tag}) and bool(image_id)
            return CleanupRequest.objects.filter(requested_by=world.users[role], items__0__reference=tag).exists()

        return Call(f"{env}/removals/", body, effect=removed_or_requested)
    if name in ("request_approve", "request_reject"):
        tag = f"apimatrix-req-{secrets.token_hex(3)}:v1"
        world.images.build(tag, busybox=False)
        pending = _pending(world, tag)
        action = name.split("_")[1]
        body = {"note": "matrix"} if action == "reject" else {}
        return Call(
            f"/api/v1/requests/{pending.pk}/{action}/",
            body,
            effect=lambda: CleanupRequest.objects.get(pk=pending.pk).status != CleanupRequest.Status.PENDING,
        )
    if name == "updates_check":
        who = world.users.get(role)
        return Call(
            f"{env}/updates/check/",
            {},
            effect=lambda: AuditEvent.objects.filter(action="updates_check_requested", actor=who).exists(),
        )
    if name == "policy_list" and method == "POST":
        new = f"api-new-{role}-{secrets.token_hex(2)}"
        return Call(
            "/api/v1/policies/",
            {"name": new, "unused_days": 30, "exclude_references": ["*"]},
            effect=lambda: RetentionPolicy.objects.filter(name=new).exists(),
        )
    if name == "policy_detail" and method == "PUT":
        days = 40 + ROLES.index(role)
        policy = world.policy
        return Call(
            f"/api/v1/policies/{policy.pk}/",
            {"name": policy.name, "environment": "local", "unused_days": days, "exclude_references": ["*"]},
            effect=lambda: RetentionPolicy.objects.get(pk=policy.pk).unused_days == days,
        )
    if name == "policy_run":
        policy = world.policy
        return Call(
            f"/api/v1/policies/{policy.pk}/environments/{world.environment.name}/run/",
            {"snapshot": []},
            effect=lambda: "Nothing to remove" in RetentionPolicy.objects.get(pk=policy.pk).last_run_summary,
        )
    if name == "registry_list" and method == "POST":
        reg = f"new-{role}-{secrets.token_hex(2)}"
        port = 5900 + len(world.made)
        world.made.append(reg)
        return Call(
            "/api/v1/registries/",
            {"name": reg, "url": f"localhost:{port}"},
            effect=lambda: Registry.objects.filter(name=reg).exists(),
        )
    if name == "registry_detail" and method in ("PUT", "DELETE"):
        target = registry_create(
            actor=world.users[ADMIN], name=f"m-{secrets.token_hex(3)}", url=f"localhost:{6000 + len(world.made)}"
        )
        world.made.append(target.name)
        if method == "DELETE":
            return Call(
                f"/api/v1/registries/{target.pk}/", effect=lambda: not Registry.objects.filter(pk=target.pk).exists()
            )
        new_url = f"localhost:{6500 + len(world.made)}"
        return Call(
            f"/api/v1/registries/{target.pk}/",
            {"name": target.name, "url": new_url},
            effect=lambda: Registry.objects.get(pk=target.pk).url == new_url,
        )
    paths = {
        "me": Call("/api/v1/me/"),
        "environments": Call("/api/v1/environments/"),
        "image_list": Call(f"{env}/images/"),
        "image_detail": Call(f"{env}/images/{short}/"),
        "pull_list": Call(f"{env}/pulls/"),
        "pull_detail": Call(f"{env}/pulls/{world.finished_pull.pk}/"),
        "pull_events": Call(f"{env}/pulls/{world.finished_pull.pk}/events/"),
        "removal_preview": Call(f"{env}/removals/preview/", params={"ref": world.tag}),
        "removal_job": Call(f"{env}/removals/{world.removal_job.pk}/"),
        "search": Call(f"{env}/search/", params={"term": "matrix", "index": world.index_registry.pk}),
        "updates": Call(f"{env}/updates/"),
        "policy_list": Call("/api/v1/policies/"),
        "policy_detail": Call(f"/api/v1/policies/{world.policy.pk}/"),
        "policy_preview": Call(f"/api/v1/policies/{world.policy.pk}/environments/{world.environment.name}/preview/"),
        "request_list": Call("/api/v1/requests/"),
        "request_detail": Call(f"/api/v1/requests/{world.cleanup_request.pk}/"),
        "registry_list": Call("/api/v1/registries/"),
        "registry_detail": Call(f"/api/v1/registries/{world.registry.pk}/"),
        "audit_list": Call("/api/v1/audit/events/"),
        "audit_detail": Call(f"/api/v1/audit/events/{world.event.pk}/"),
        "audit_export": Call("/api/v1/audit/export/csv/"),
        "schema": Call("/api/v1/schema/"),
        "docs": Call("/api/v1/docs/"),
    }
    return paths[name]


def _state() -> tuple:
    """Everything a change could touch, to prove a refused one changed nothing."""
    return (
        sorted(PullJob.objects.values_list("pk", "status")),
        sorted(CleanupRequest.objects.values_list("pk", "status")),
        sorted(RemovalJob.objects.values_list("pk", "status")),
        sorted(Registry.objects.values_list("pk", "name", "url")),
        sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        sorted(RetentionPolicy.objects.values_list("pk", "name", "unused_days")),
        # updates_checked: the result of an allowed "check now" a worker may record at any moment.
        AuditEvent.objects.exclude(outcome="denied")
        .exclude(action__in=["api_token_new_address", "updates_checked"])
        .count(),
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_api_it_may(live_url, world: World, role: str) -> None:
    client = api_client(world.tokens.get(role))
    wrong = []
    for name, rules in TABLE.items():
        for rule in rules:
            call = _call(world, name, rule.method, role)
            before = _state()
            if name == "docs":
                continue  # a page for people with a session: checked below
            response = client.request(
                rule.method,
                live_url + call.path,
                json=call.body,
                params=call.params,
                timeout=60,
                allow_redirects=False,
            )
            if role == ANONYMOUS:
                expected = 401
            elif role in rule.allowed:
                expected = rule.ok[role] if isinstance(rule.ok, dict) else rule.ok
            else:
                expected = 403
            problem = response.status_code != expected
            if not problem and expected in (401, 403):
                problem = _state() != before or response.json().get("code") not in (
                    "not_authenticated",
                    "permission_denied",
                )
            if not problem and expected < 300 and call.effect is not None:
                problem = not call.effect()
            if problem:
                wrong.append(
                    f"{rule.method} {call.path} ({name}) as {role}: {response.status_code}, expected {expected}"
                )
    assert wrong == []


def test_methods_an_endpoint_does_not_have_are_405_as_json(live_url, world: World) -> None:
    client = api_client(world.tokens[ADMIN])
    wrong = []
    for name, rules in TABLE.items():
        if name in ("docs", "schema"):
            continue
        methods = {rule.method for rule in rules}
        for method in ("GET", "POST", "PUT", "DELETE"):
            if method in methods:
                continue
            call = _call(world, name, next(iter(methods)), ADMIN)
            before = _state()
            response = client.request(method, live_url + call.path, json={}, timeout=30)
            if response.status_code != 405 or response.json()["code"] != "method_not_allowed" or _state() != before:
                wrong.append(f"{method} {call.path} ({name}): {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_the_docs_page_is_a_page_for_people_with_a_role(live_url, world: World, role: str) -> None:
    from tests.integration.conftest import login_session

    session = login_session(live_url, world.users[role].username) if role != ANONYMOUS else api_client(None)
    response = session.get(
        live_url + "/api/v1/docs/", headers={"Accept": "text/html"}, timeout=10, allow_redirects=False
    )
    if role == ANONYMOUS:
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
        return
    assert response.status_code == (200 if role in STAFF else 403)
    if role in STAFF:
        # Served from Berth itself: no CDN (offline machines, CSP script-src 'self').
        assert "swagger-ui" in response.text and "https://" not in response.text
        schema = session.get(live_url + "/api/v1/schema/", timeout=10)
        assert schema.status_code == 200 and schema.text.startswith("openapi: 3")
