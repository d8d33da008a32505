"""The role matrix: every URL Berth has, for every role, GET and POST, with CSRF enforced.

The expectation table below is written out by hand (url name -> who may GET, who may POST);
`test_the_table_covers_every_url_name` fails when a page is added without an entry.
Every URL with a pk points at a real object (an image, a pull, a request, a removal job,
a registry, an audit event, a user), so a 404 never passes for a refusal. Allowed POSTs must
have their real effect; refused ones answer 403 and change nothing.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from images_app.models import (
    ApiToken,
    AuditEvent,
    CleanupRequest,
    NotificationChannel,
    NotificationPreference,
    PullJob,
    Registry,
    RemovalJob,
    RetentionPolicy,
    UpdateCheck,
)
from images_app.models.cleanup import RemovalKind
from images_app.roles import ADMIN, OPERATOR, VIEWER, role_of
from images_app.services import removal
from images_app.services.cleanup_requests import cleanup_request_create
from images_app.services.notifications import channel_save
from images_app.services.registries import registry_create
from images_app.services.tokens import token_create
from tests.integration.conftest import ImageFactory
from tests.integration.support.pulls import push_image
from tests.integration.support.removal import image_exists

ANONYMOUS = "anonymous"
ROLES = (ANONYMOUS, VIEWER, OPERATOR, ADMIN)
STAFF = frozenset({VIEWER, OPERATOR, ADMIN})  # everyone with a role
CHANGERS = frozenset({OPERATOR, ADMIN})
ADMINS = frozenset({ADMIN})
NO_POST = None  # the page has no POST: 405 for every logged-in role
LOGIN = "login-redirect"


@dataclass(frozen=True)
class Entry:
    get: frozenset[str] | None  # roles that may GET (None: the URL answers POST only -> 405)
    post: frozenset[str] | None  # roles that may POST (None: GET only -> 405)
    get_status: int = 200  # what an allowed GET answers (302 for pages that redirect)


# url name -> who may GET, who may POST. Anonymous people are sent to the login page everywhere
# except the two public pages, which are checked on their own below.
TABLE: dict[str, Entry] = {
    "home": Entry(STAFF, NO_POST, get_status=302),
    "images_default": Entry(STAFF, NO_POST, get_status=302),
    "env_home": Entry(STAFF, NO_POST),
    "image_list": Entry(STAFF, NO_POST),
    "image_detail": Entry(STAFF, NO_POST),
    "pull_list": Entry(STAFF, NO_POST),
    "pull_create": Entry(CHANGERS, CHANGERS),
    "pull_detail": Entry(STAFF, NO_POST),
    "pull_events": Entry(STAFF, NO_POST),
    "pull_cancel": Entry(None, CHANGERS),  # operators cancel their own pulls, admins any
    "search": Entry(STAFF, NO_POST),
    "image_remove_confirm": Entry(CHANGERS, CHANGERS),  # operator: a request; admin: removes
    "image_prune_confirm": Entry(CHANGERS, CHANGERS),
    "image_remove_unused_confirm": Entry(CHANGERS, CHANGERS),
    "image_remove_all_confirm": Entry(ADMINS, ADMINS),
    "removal_job_detail": Entry(STAFF, NO_POST),
    "request_list": Entry(STAFF, NO_POST),
    "request_detail": Entry(STAFF, NO_POST),
    "request_approve": Entry(None, ADMINS),
    "request_reject": Entry(None, ADMINS),
    "audit_list": Entry(STAFF, NO_POST),
    "audit_detail": Entry(STAFF, NO_POST),
    "audit_export": Entry(ADMINS, NO_POST),
    "registry_list": Entry(STAFF, NO_POST),
    "registry_browse": Entry(STAFF, NO_POST),
    "registry_tags": Entry(STAFF, NO_POST),
    "registry_create": Entry(ADMINS, ADMINS),
    "registry_edit": Entry(ADMINS, ADMINS),
    "registry_delete": Entry(ADMINS, ADMINS),
    "user_list": Entry(ADMINS, NO_POST),
    "user_new": Entry(ADMINS, ADMINS),
    "user_set_role": Entry(None, ADMINS),
    "user_deactivate": Entry(None, ADMINS),
    "user_reactivate": Entry(None, ADMINS),
    "updates_check_now": Entry(None, CHANGERS),
    "updates_pull_all": Entry(CHANGERS, CHANGERS),
    "notification_channels": Entry(ADMINS, NO_POST),
    "notification_channel_create": Entry(ADMINS, ADMINS),
    "notification_channel_edit": Entry(ADMINS, ADMINS),
    "notification_channel_delete": Entry(None, ADMINS),
    "notification_preferences": Entry(STAFF, STAFF),  # each person's own choices
    "policy_list": Entry(ADMINS, NO_POST),
    "policy_create": Entry(ADMINS, ADMINS),
    "policy_edit": Entry(ADMINS, ADMINS),
    "policy_preview": Entry(ADMINS, ADMINS),  # POST: run now
    "token_list": Entry(STAFF, STAFF),  # everyone with a role has API tokens (POST creates one)
    "token_revoke": Entry(None, STAFF),  # the token's owner (here: each role revokes its own) or an admin
    "logout": Entry(None, STAFF),  # checked last, on its own: it ends the session
}
# Public pages, checked on their own: the login form, and first-run setup (404 once anyone exists).
PUBLIC = {"login", "setup"}
# Django's admin site guards itself (staff only); Berth's people never need it.
# The JSON API answers 401/403 as JSON, not login redirects: tests/integration/test_api_roles.py is its matrix.
EXEMPT_NAMESPACES = ("admin:", "api:")

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def resolver_names() -> set[str]:
    resolver = get_resolver()
    names = {key for key in resolver.reverse_dict.keys() if isinstance(key, str)}
    for namespace, (_prefix, sub) in resolver.namespace_dict.items():
        names |= {f"{namespace}:{key}" for key in sub.reverse_dict.keys() if isinstance(key, str)}
    return names


def test_the_table_covers_every_url_name() -> None:
    names = {n for n in resolver_names() if not n.startswith(EXEMPT_NAMESPACES)}
    missing = names - set(TABLE) - PUBLIC
    stale = set(TABLE) - names
    assert not missing, f"URL names without an entry in the role matrix: {sorted(missing)}"
    assert not stale, f"entries for URL names that no longer exist: {sorted(stale)}"


# --- a real world for every pk ---------------------------------------------------------------


@dataclass
class World:
    environment: Any
    users: dict[str, Any]
    images: ImageFactory
    registry_host: str
    image_id: str
    tag: str
    pushed_repository: str
    pull_job: PullJob
    finished_pull: PullJob
    cleanup_request: CleanupRequest
    removal_job: RemovalJob
    registry: Registry
    event: AuditEvent
    member: Any
    channel: Any = None
    policy: Any = None
    clients: dict[str, Client] = field(default_factory=dict)
    api_token: Any = None

    def kwargs(self, name: str) -> dict[str, Any]:
        env = {"env": self.environment.name}
        return {
            "env_home": env,
            "image_list": env,
            "image_detail": {**env, "image_id": self.image_id.removeprefix("sha256:")[:12]},
            "pull_list": env,
            "pull_create": env,
            "pull_detail": {**env, "pk": self.pull_job.pk},
            # The finished pull: its stream answers at once instead of following a live pull.
            "pull_events": {**env, "pk": self.finished_pull.pk},
            "pull_cancel": {**env, "pk": self.pull_job.pk},
            "search": env,
            "image_remove_confirm": env,
            "image_prune_confirm": env,
            "image_remove_unused_confirm": env,
            "image_remove_all_confirm": env,
            "removal_job_detail": {**env, "pk": self.removal_job.pk},
            "request_detail": {"pk": self.cleanup_request.pk},
            "request_approve": {"pk": self.cleanup_request.pk},
            "request_reject": {"pk": self.cleanup_request.pk},
            "audit_detail": {"pk": self.event.pk},
            "audit_export": {"fmt": "csv"},
            "registry_browse": {"pk": self.registry.pk},
            "registry_tags": {"pk": self.registry.pk, "repository": self.pushed_repository},
            "registry_edit": {"pk": self.registry.pk},
            "registry_delete": {"pk": self.registry.pk},
            "user_set_role": {"pk": self.member.pk},
            "user_deactivate": {"pk": self.member.pk},
            "user_reactivate": {"pk": self.member.pk},
            "updates_check_now": env,
            "updates_pull_all": env,
            "notification_channel_edit": {"pk": self.channel.pk},
            "notification_channel_delete": {"pk": self.channel.pk},
            "policy_edit": {"pk": self.policy.pk},
            "policy_preview": {"pk": self.policy.pk, **env},
            "token_revoke": {"pk": self.api_token.pk},
        }.get(name, {})

    def url(self, name: str) -> str:
        url = reverse(name, kwargs=self.kwargs(name) or None)
        if name == "image_remove_confirm":
            url += f"?ref={self.tag}"
        return url


def _pending_request(world: World, tag: str, reason: str = "matrix") -> CleanupRequest:
    """An operator's pending request to remove `tag`, made through the same services as the page."""
    plan = removal.removal_plan(environment=world.environment, refs=[tag], sizes=True)
    items = removal.removal_confirm(plan=plan, snapshot=plan.snapshot(force=False), force=False)
    return cleanup_request_create(
        environment=world.environment,
        kind=RemovalKind.REMOVE,
        items=items,
        reason=reason,
        actor=world.users[OPERATOR],
    )


@pytest.fixture(scope="module")
def pushed(docker_api, registry_host: str):
    """One small image in the loopback registry, for the registry tags page."""
    factory = ImageFactory(docker_api)
    name = f"matrix-{secrets.token_hex(3)}"
    push_image(factory, docker_api, registry_host, name, layers=[])
    yield name
    factory.cleanup()


@pytest.fixture
def world(environment, images, registry_host, pushed, viewer, operator, admin_user, make_user) -> World:
    tag = f"matrix-{secrets.token_hex(3)}:v1"
    image_id = images.build(tag, busybox=False)
    users = {VIEWER: viewer, OPERATOR: operator, ADMIN: admin_user}
    pull_job = PullJob.objects.create(
        environment=environment, reference=f"{registry_host}/matrix-queued:v1", requested_by=operator
    )
    finished_pull = PullJob.objects.create(
        environment=environment,
        reference=f"{registry_host}/matrix-done:v1",
        requested_by=operator,
        status=PullJob.Status.SUCCEEDED,
    )
    registry = registry_create(actor=admin_user, request=None, name="loop", url=registry_host, username="", password="")
    removal_job = removal.removal_job_create(
        environment=environment, kind=RemovalKind.REMOVE, items=[], actor=admin_user
    )
    world = World(
        environment=environment,
        users=users,
        images=images,
        registry_host=registry_host,
        image_id=image_id,
        tag=tag,
        pushed_repository=pushed,
        pull_job=pull_job,
        finished_pull=finished_pull,
        cleanup_request=None,  # type: ignore[arg-type]
        removal_job=removal_job,
        registry=registry,
        event=AuditEvent.objects.order_by("-id").first(),
        member=make_user("tess", VIEWER),
    )
    world.cleanup_request = _pending_request(world, tag)
    world.channel = channel_save(
        actor=admin_user, channel=None, name="matrix", kind="email", email_to="ops@example.com", events=[]
    )
    # A policy that excludes every image: previewing or running it on the shared engine removes nothing.
    world.policy = RetentionPolicy.objects.create(
        name="matrix", environment=environment, unused_days=30, exclude_references="*", owner=admin_user
    )
    world.api_token, _ = token_create(user=viewer, name="matrix")
    for role in ROLES:
        client = Client(enforce_csrf_checks=True)
        if role != ANONYMOUS:
            client.force_login(users[role])
        world.clients[role] = client
    return world


def _token(client: Client, url: str = "/login/") -> str:
    """The CSRF token as a browser has it: read from a form on a page."""
    response = client.get(url, follow=True)
    match = CSRF_FIELD.search(response.content.decode())
    assert match, f"no CSRF token on {url}"
    return unescape(match.group(1))


def _is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/login/")


# --- GET -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_pages_it_may(world: World, role: str) -> None:
    client = world.clients[role]
    wrong = []
    for name, entry in TABLE.items():
        if name == "logout":
            continue
        url = world.url(name)
        response = client.get(url)
        if role == ANONYMOUS:
            ok = _is_login_redirect(response)
            expected = "login redirect"
        elif entry.get is None:
            ok, expected = response.status_code == 405, "405"
        elif role in entry.get:
            ok = response.status_code == entry.get_status
            if ok and entry.get_status == 302:
                ok = not response["Location"].startswith("/login/")
            expected = str(entry.get_status)
        else:
            ok, expected = response.status_code == 403, "403"
        if not ok:
            wrong.append(f"GET {url} ({name}) as {role}: {response.status_code}, expected {expected}")
    assert wrong == []


def test_the_public_pages_answer_everyone(world: World) -> None:
    anonymous = world.clients[ANONYMOUS]
    assert anonymous.get(reverse("login")).status_code == 200
    # First-run setup exists only while Berth has no user at all.
    assert anonymous.get(reverse("setup")).status_code == 404
    assert world.clients[VIEWER].get(reverse("login")).status_code == 302
    token = _token(anonymous)
    response = anonymous.post(
        reverse("setup"), {"csrfmiddlewaretoken": token, "username": "mallory", "password1": "x", "password2": "x"}
    )
    assert response.status_code == 404
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_logging_in_needs_the_csrf_token_from_the_form(world: World) -> None:
    from tests.integration.conftest import PASSWORD

    anonymous = world.clients[ANONYMOUS]
    refused = anonymous.post(reverse("login"), {"username": "vera", "password": PASSWORD})
    assert refused.status_code == 403
    token = _token(anonymous)
    response = anonymous.post(
        reverse("login"), {"username": "vera", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert anonymous.get(reverse("image_list", kwargs={"env": "local"})).status_code == 200


# --- POST ------------------------------------------------------------------------------------


@dataclass
class Case:
    url: str
    data: dict[str, Any]
    effect: Callable[[], bool]  # the allowed role's real effect happened


def _snapshot(plan: removal.RemovalPlan, force: bool) -> str:
    return json.dumps(removal.items_to_json(plan.snapshot(force=force)))


def _case_pull_create(world: World, role: str) -> Case:
    name = f"matrix-post-{role}-{secrets.token_hex(2)}"
    return Case(
        world.url("pull_create"),
        {"reference": f"{world.registry_host}/{name}:v1"},
        lambda: PullJob.objects.filter(reference__contains=f"/{name}:v1", requested_by=world.users[role]).exists(),
    )


def _case_pull_cancel(world: World, role: str) -> Case:
    job = PullJob.objects.create(
        environment=world.environment,
        reference=f"{world.registry_host}/matrix-cancel-{secrets.token_hex(2)}:v1",
        requested_by=world.users[OPERATOR],
    )
    url = reverse("pull_cancel", kwargs={"env": world.environment.name, "pk": job.pk})
    return Case(url, {}, lambda: PullJob.objects.get(pk=job.pk).status == PullJob.Status.CANCELLED)


def _case_remove(world: World, role: str) -> Case:
    tag = f"matrix-rm-{secrets.token_hex(3)}:v1"
    image_id = world.images.build(tag, busybox=False)
    plan = removal.removal_plan(environment=world.environment, refs=[tag], sizes=True)
    data = {"ref": [tag], "snapshot": _snapshot(plan, False), "reason": "matrix: no longer needed"}

    def effect() -> bool:
        if role == ADMIN:
            return not image_exists(world.images.api, image_id)
        # An operator's removal is a request: nothing is removed yet.
        return (
            image_exists(world.images.api, image_id)
            and CleanupRequest.objects.filter(
                requested_by=world.users[role], status=CleanupRequest.Status.PENDING, items__0__reference=tag
            ).exists()
        )

    return Case(world.url("image_remove_confirm").split("?")[0], data, effect)


def _cleanup_case(kind: str, url_name: str) -> Callable[[World, str], Case]:
    def make(world: World, role: str) -> Case:
        # Something for the cleanup to find: a dangling image for prune, an unused tagged one otherwise.
        image_id = world.images.build(
            None if kind == RemovalKind.PRUNE_DANGLING else f"matrix-{kind}:v1", busybox=False
        )
        plan = removal.cleanup_plan(environment=world.environment, kind=kind, sizes=False)
        data = {"snapshot": _snapshot(plan, True), "reason": f"matrix {kind}", "confirm_name": world.environment.name}

        def effect() -> bool:
            user = world.users[role]
            if role == ADMIN:
                job = RemovalJob.objects.filter(kind=kind, created_by=user).first()
                inline = job is not None and job.status != RemovalJob.Status.QUEUED
                return job is not None and (not inline or not image_exists(world.images.api, image_id))
            return CleanupRequest.objects.filter(kind=kind, requested_by=user).exists()

        return Case(world.url(url_name), data, effect)

    return make


def _case_approve(world: World, role: str) -> Case:
    tag = f"matrix-approve-{secrets.token_hex(3)}:v1"
    image_id = world.images.build(tag, busybox=False)
    pending = _pending_request(world, tag)

    def effect() -> bool:
        pending.refresh_from_db()
        return pending.status != CleanupRequest.Status.PENDING and not image_exists(world.images.api, image_id)

    return Case(reverse("request_approve", kwargs={"pk": pending.pk}), {}, effect)


def _case_reject(world: World, role: str) -> Case:
    tag = f"matrix-reject-{secrets.token_hex(3)}:v1"
    world.images.build(tag, busybox=False)
    pending = _pending_request(world, tag)
    return Case(
        reverse("request_reject", kwargs={"pk": pending.pk}),
        {"note": "matrix: keep it"},
        lambda: CleanupRequest.objects.get(pk=pending.pk).status == CleanupRequest.Status.REJECTED,
    )


def _case_registry_create(world: World, role: str) -> Case:
    name = f"new-{role}"
    port = {VIEWER: 5901, OPERATOR: 5902, ADMIN: 5903}[role]
    data = {"name": name, "url": f"localhost:{port}", "username": "", "password": ""}
    return Case(world.url("registry_create"), data, lambda: Registry.objects.filter(name=name).exists())


def _case_registry_edit(world: World, role: str) -> Case:
    data = {"name": world.registry.name, "url": "localhost:5999", "username": "someone", "password": ""}
    return Case(
        world.url("registry_edit"), data, lambda: Registry.objects.get(pk=world.registry.pk).url == "localhost:5999"
    )


def _case_registry_delete(world: World, role: str) -> Case:
    pk = world.registry.pk
    return Case(world.url("registry_delete"), {}, lambda: not Registry.objects.filter(pk=pk).exists())


def _case_updates_check_now(world: World, role: str) -> Case:
    user = world.users[role]
    return Case(
        world.url("updates_check_now"),
        {},
        lambda: AuditEvent.objects.filter(action="updates_check_requested", outcome="success", actor=user).exists(),
    )


def _case_updates_pull_all(world: World, role: str) -> Case:
    # A tag with a digest recorded (pushed), whose stored check says the registry serves another image.
    repository = f"{world.registry_host}/matrix-upd-{role}-{secrets.token_hex(2)}"
    world.images.build(f"{repository}:v1", busybox=False)
    for event in world.images.api.push(repository, "v1", stream=True, decode=True):
        assert "error" not in event, event
    registry, _, path = repository.partition("/")
    UpdateCheck.objects.create(
        registry=registry, repository=path, tag="v1", remote_digest="sha256:" + "f" * 64, checked_at=timezone.now()
    )
    return Case(
        world.url("updates_pull_all"),
        {"ref": [f"{repository}:v1"]},
        lambda: PullJob.objects.filter(reference=f"{repository}:v1", requested_by=world.users[role]).exists(),
    )


def _case_channel_create(world: World, role: str) -> Case:
    name = f"hook-{role}"
    data = {"name": name, "kind": "webhook", "url": "https://hooks.example.com/T0KEN", "events": ["pull_failed"]}
    return Case(
        world.url("notification_channel_create"), data, lambda: NotificationChannel.objects.filter(name=name).exists()
    )


def _case_channel_edit(world: World, role: str) -> Case:
    data = {"name": "matrix", "kind": "email", "email_to": f"{role}@example.com", "events": ["pull_failed"]}
    return Case(
        world.url("notification_channel_edit"),
        data,
        lambda: NotificationChannel.objects.get(pk=world.channel.pk).email_to == f"{role}@example.com",
    )


def _case_channel_delete(world: World, role: str) -> Case:
    pk = world.channel.pk
    return Case(
        world.url("notification_channel_delete"), {}, lambda: not NotificationChannel.objects.filter(pk=pk).exists()
    )


def _case_preferences(world: World, role: str) -> Case:
    user = world.users[role]
    return Case(
        world.url("notification_preferences"),
        {"pull_failed": "on"},
        lambda: NotificationPreference.objects.filter(user=user, event="request_pending", email=False).exists(),
    )


def _case_user_new(world: World, role: str) -> Case:
    name = f"newbie-{role}"
    password = "a-long-enough-passphrase-42"
    data = {"username": name, "email": "", "role": VIEWER, "password1": password, "password2": password}
    return Case(world.url("user_new"), data, lambda: get_user_model().objects.filter(username=name).exists())


def _case_user_set_role(world: World, role: str) -> Case:
    member = world.member
    return Case(
        world.url("user_set_role"),
        {"role": OPERATOR},
        lambda: role_of(get_user_model().objects.get(pk=member.pk)) == OPERATOR,
    )


def _case_user_deactivate(world: World, role: str) -> Case:
    member = world.member
    return Case(world.url("user_deactivate"), {}, lambda: not get_user_model().objects.get(pk=member.pk).is_active)


def _case_user_reactivate(world: World, role: str) -> Case:
    member = world.member
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    return Case(world.url("user_reactivate"), {}, lambda: get_user_model().objects.get(pk=member.pk).is_active)


def _case_policy_create(world: World, role: str) -> Case:
    name = f"matrix-new-{role}"
    data = {"name": name, "environment": "", "enabled": "on", "unused_days": "30", "action": "ask"}
    return Case(world.url("policy_create"), data, lambda: RetentionPolicy.objects.filter(name=name).exists())


def _case_policy_edit(world: World, role: str) -> Case:
    data = {"name": "matrix", "environment": "", "enabled": "on", "unused_days": "45", "exclude_references": "*",
            "action": "ask"}  # fmt: skip
    return Case(
        world.url("policy_edit"), data, lambda: RetentionPolicy.objects.get(pk=world.policy.pk).unused_days == 45
    )


def _case_policy_run(world: World, role: str) -> Case:
    return Case(
        world.url("policy_preview"),
        {"snapshot": "[]"},
        lambda: AuditEvent.objects.filter(action="retention_policy_run", parameters__by=world.users[role].username)
        .exists(),
    )
def _case_token_create(world: World, role: str) -> Case:
    name = f"matrix-{role}-{secrets.token_hex(2)}"
    return Case(
        world.url("token_list"),
        {"name": name, "expires_in_days": "30"},
        lambda: ApiToken.objects.filter(user=world.users[role], name=name).exists(),
    )


def _case_token_revoke(world: World, role: str) -> Case:
    token, _ = token_create(user=world.users[role], name=f"matrix-revoke-{role}")
    url = reverse("token_revoke", kwargs={"pk": token.pk})
    return Case(url, {}, lambda: ApiToken.objects.get(pk=token.pk).revoked_at is not None)


# In this order: the whole-engine cleanups last, since an admin's removes every unused image.
POST_CASES: dict[str, Callable[[World, str], Case]] = {
    "pull_create": _case_pull_create,
    "pull_cancel": _case_pull_cancel,
    "image_remove_confirm": _case_remove,
    "request_approve": _case_approve,
    "request_reject": _case_reject,
    "registry_create": _case_registry_create,
    "registry_edit": _case_registry_edit,
    "user_new": _case_user_new,
    "user_set_role": _case_user_set_role,
    "user_deactivate": _case_user_deactivate,
    "user_reactivate": _case_user_reactivate,
    "registry_delete": _case_registry_delete,
    "updates_check_now": _case_updates_check_now,
    "updates_pull_all": _case_updates_pull_all,
    "notification_channel_create": _case_channel_create,
    "notification_channel_edit": _case_channel_edit,
    "notification_channel_delete": _case_channel_delete,
    "notification_preferences": _case_preferences,
    "policy_create": _case_policy_create,
    "policy_edit": _case_policy_edit,
    "policy_preview": _case_policy_run,
    "token_list": _case_token_create,
    "token_revoke": _case_token_revoke,
    "image_prune_confirm": _cleanup_case(RemovalKind.PRUNE_DANGLING, "image_prune_confirm"),
    "image_remove_unused_confirm": _cleanup_case(RemovalKind.REMOVE_UNUSED, "image_remove_unused_confirm"),
    "image_remove_all_confirm": _cleanup_case(RemovalKind.REMOVE_ALL, "image_remove_all_confirm"),
}


def _state(world: World) -> tuple:
    """Everything a POST could change, to prove a refused one changed nothing."""
    user_model = get_user_model()
    return (
        sorted(i["Id"] for i in world.images.api.images(all=True)),
        sorted(PullJob.objects.values_list("pk", "status")),
        sorted(CleanupRequest.objects.values_list("pk", "status")),
        sorted(RemovalJob.objects.values_list("pk", "status")),
        sorted(Registry.objects.values_list("pk", "name", "url", "username")),
        sorted(user_model.objects.values_list("pk", "is_active")),
        sorted(user_model.groups.through.objects.values_list("user_id", "group_id")),
        sorted(NotificationChannel.objects.values_list("pk", "name", "email_to")),
        sorted(RetentionPolicy.objects.values_list("pk", "name", "unused_days", "last_run_summary")),
        sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        AuditEvent.objects.exclude(outcome="denied").count(),
    )


def test_every_post_action_has_a_case() -> None:
    posting = {name for name, entry in TABLE.items() if entry.post is not None and name != "logout"}
    assert posting == set(POST_CASES)


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN])
def test_each_role_posts_exactly_the_actions_it_may(world: World, role: str) -> None:
    client = world.clients[role]
    token = _token(client, world.url("image_list"))
    wrong = []
    for name, make_case in POST_CASES.items():
        allowed = role in TABLE[name].post
        case = make_case(world, role)
        before = _state(world)
        response = client.post(case.url, {**case.data, "csrfmiddlewaretoken": token})
        if allowed:
            if response.status_code not in (200, 302) or not case.effect():
                wrong.append(f"POST {case.url} ({name}) as {role}: {response.status_code}, effect missing")
        elif response.status_code != 403 or _state(world) != before:
            wrong.append(f"POST {case.url} ({name}) as {role}: {response.status_code}, expected 403 and no change")
    # Pages without a POST refuse it, whoever asks.
    for name, entry in TABLE.items():
        if entry.post is None:
            url = world.url(name)
            before = _state(world)
            response = client.post(url, {"csrfmiddlewaretoken": token})
            if response.status_code != 405 or _state(world) != before:
                wrong.append(f"POST {url} ({name}) as {role}: {response.status_code}, expected 405")
    assert wrong == []


def test_anonymous_posts_go_to_login_and_change_nothing(world: World) -> None:
    client = world.clients[ANONYMOUS]
    token = _token(client)
    before = _state(world)
    wrong = []
    for name in TABLE:
        response = client.post(world.url(name), {"csrfmiddlewaretoken": token})
        if not _is_login_redirect(response):
            wrong.append(f"POST {world.url(name)} ({name}): {response.status_code}")
    assert wrong == []
    assert _state(world) == before


def test_an_admin_post_without_the_csrf_token_is_refused_and_changes_nothing(world: World) -> None:
    client = world.clients[ADMIN]
    wrong = []
    for name, make_case in POST_CASES.items():
        case = make_case(world, ADMIN)
        before = _state(world)
        response = client.post(case.url, case.data)
        if response.status_code != 403 or _state(world) != before:
            wrong.append(f"POST {case.url} ({name}) without token: {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN])
def test_logging_out_takes_a_post_with_the_token(world: World, role: str) -> None:
    client = world.clients[role]
    images_url = world.url("image_list")
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 403  # no token: still logged in
    assert client.get(images_url).status_code == 200
    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": _token(client, images_url)})
    assert response.status_code == 302
    assert _is_login_redirect(client.get(images_url))


# --- what the pages offer ----------------------------------------------------------------------

HREF = re.compile(r'<a [^>]*href="(/[^"]*)"')
POST_FORM = re.compile(r'<form [^>]*method="post"[^>]*action="(/[^"]*)"|<form [^>]*action="(/[^"]*)"[^>]*method="post"')


def _url_name(path: str) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        match = resolve(unescape(path).split("?")[0])
    except Resolver404:
        return None
    return match.view_name


@pytest.mark.parametrize("role", [VIEWER, OPERATOR, ADMIN])
def test_pages_offer_each_role_only_links_and_buttons_it_may_use(world: World, role: str) -> None:
    """Hidden buttons are not a permission, but a shown button the server refuses is a bug."""
    client = world.clients[role]
    offered = []
    for name, entry in TABLE.items():
        if entry.get is None or role not in entry.get or entry.get_status != 200 or name == "audit_export":
            continue
        response = client.get(world.url(name))
        if response.streaming:  # the pull's event stream: not a page
            continue
        html = response.content.decode()
        for path in HREF.findall(html):
            target = _url_name(path)
            if target in TABLE and TABLE[target].get is not None and role not in TABLE[target].get:
                offered.append(f"{name} links to {path} ({target})")
        for groups in POST_FORM.findall(html):
            path = groups[0] or groups[1]
            target = _url_name(path)
            if target in TABLE and (TABLE[target].post is None or role not in TABLE[target].post):
                offered.append(f"{name} has a form posting to {path} ({target})")
    assert offered == [], f"{role} is offered what the server refuses"
