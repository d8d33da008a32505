"""Removing images: plan exactly what `docker rmi [-f]` will do, then do only what was confirmed.

A plan is computed from the real engine (all images with their parent chains, all
containers, and `system df` for unique sizes on confirmation pages only). The
confirmation freezes each item as {image_id, reference, tags, force, action,
containers, unique_size}; execution re-reads the engine before every item and
skips anything that drifted (tag moved, new container, new tag, image gone), so
nothing the person did not confirm is ever removed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from images_app import engine
from images_app.engine import ContainerInfo, ImageInfo
from images_app.errors import EngineError, EngineUnavailable, ImageNotFound, RemovalConflict
from images_app.models import AuditAction, CleanupRequest, Environment, RemovalJob
from images_app.models.cleanup import RemovalKind
from images_app.models.transitions import transition
from images_app.references import BadReference, is_image_id_like, parse_reference
from images_app.services.audit import audit_record, audit_record_for_request

UNTAG = "untag"
DELETE = "delete"

# Outcomes of one executed item.
REMOVED = "removed"  # the engine deleted the image
UNTAGGED = "untagged"  # the engine removed the tag(s); the image stays
SKIPPED = "skipped"  # not attempted: the engine changed since confirmation
GONE = "gone"  # nothing to do: already removed
FAILED = "failed"  # the engine refused or failed

# Execution re-reads the engine at least this often (seconds); between reads the
# effects of our own removals are simulated, so a 500-image cleanup does not list
# 500 images 500 times.
_STATE_MAX_AGE = 2.0


def short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


# --- the engine's state, as removal sees it -----------------------------------------------


@dataclass
class _Image:
    id: str
    tags: list[str]
    digests: list[str]
    parent: str
    size: int


class EngineState:
    """Images (intermediate ones too) and containers, with the engine's deletion rules."""

    def __init__(self, images: Iterable[ImageInfo], containers: Iterable[ContainerInfo]) -> None:
        self.images: dict[str, _Image] = {
            i.id: _Image(i.id, list(i.repo_tags), list(i.repo_digests), i.parent_id, i.size) for i in images
        }
        self.containers = list(containers)
        self.loaded_at = time.monotonic()
        self._index()

    def _index(self) -> None:
        # Plans of thousands of items (retention policies) ask for children once per item: count them once.
        self.children = Counter(img.parent for img in self.images.values() if img.parent)

    @classmethod
    def load(cls, environment: Environment) -> EngineState:
        return cls(engine.list_images(environment, include_intermediate=True), engine.list_containers(environment))

    def copy(self) -> EngineState:
        clone = EngineState([], self.containers)
        clone.images = {
            k: _Image(v.id, list(v.tags), list(v.digests), v.parent, v.size) for k, v in self.images.items()
        }
        clone.loaded_at = self.loaded_at
        clone._index()
        return clone

    def has_children(self, image_id: str) -> bool:
        return self.children[image_id] > 0

    def dependents(self, image_id: str) -> list[ContainerInfo]:
        return [c for c in self.containers if c.image_id == image_id]

    def top_level(self) -> list[_Image]:
        """What `docker image ls` lists: tagged images, and untagged ones nothing is built on."""
        parents = {img.parent for img in self.images.values()}
        return [img for img in self.images.values() if img.tags or img.digests or img.id not in parents]

    def depth(self, image_id: str) -> int:
        """How many ancestors an image has (bounded: chains are short, cycles impossible but guarded)."""
        depth, current = 0, self.images.get(image_id)
        while current is not None and current.parent and depth < 1000:
            depth += 1
            current = self.images.get(current.parent)
        return depth

    def resolve(self, ref: str) -> tuple[_Image, bool]:
        """The image a reference or ID names, and whether it was named by ID. LookupError if none."""
        text = ref.strip()
        if is_image_id_like(text):
            wanted = text.removeprefix("sha256:")
            exact = self.images.get(f"sha256:{wanted}")
            if exact is not None:  # a full ID: no prefix scan (plans of thousands of IDs stay linear)
                return exact, True
            matches = [img for img in self.images.values() if img.id.removeprefix("sha256:").startswith(wanted)]
            if len(matches) == 1:
                return matches[0], True
            if len(matches) > 1:
                raise LookupError(f"{text} matches several images; give more of the ID.")
            # A 12-hex string is also a valid repository name: fall through as the CLI does.
        try:
            familiar = str(parse_reference(text).familiar())
        except BadReference as exc:
            raise LookupError(exc.message) from exc
        for candidate in (text, familiar):
            for img in self.images.values():
                if candidate in img.tags or candidate in img.digests:
                    return img, False
        raise LookupError(f"No image {text} on this engine (already removed?).")

    # Simulating effects keeps a batch plan honest: removing a:1 then a:2 of the same
    # image means the second removal deletes the image, not just a tag.
    def apply(self, item: PlanItem) -> None:
        img = self.images.get(item.image_id)
        if img is None:
            return
        if item.action == UNTAG:
            img.tags = [t for t in img.tags if t not in item.tags]
            repos = {t.rpartition(":")[0] for t in item.tags}
            remaining_repos = {t.rpartition(":")[0] for t in img.tags}
            # The engine drops digest references of a repository left without tags.
            img.digests = [d for d in img.digests if d.partition("@")[0] not in repos - remaining_repos]
            return
        self._delete_with_untagged_parents(img.id)

    def _delete_with_untagged_parents(self, image_id: str) -> None:
        current = self._pop(image_id)
        while current is not None and current.parent:
            parent = self.images.get(current.parent)
            if parent is None or parent.tags or parent.digests or self.has_children(parent.id):
                return
            if self.dependents(parent.id):
                return
            current = self._pop(parent.id)

    def _pop(self, image_id: str) -> _Image | None:
        img = self.images.pop(image_id, None)
        if img is not None and img.parent:
            self.children[img.parent] -= 1
        return img


def _repository_of(reference: str) -> str:
    """The repository of a RepoTags ("repo:tag") or RepoDigests ("repo@sha256:...") entry."""
    if "@" in reference:
        return reference.partition("@")[0]
    return reference.rpartition(":")[0]


def _is_single_reference(tags: list[str], digests: list[str]) -> bool:
    """moby's isSingleReference: at least one reference, all in one repository, at most one tag."""
    if len(tags) + len(digests) <= 1:
        return len(tags) + len(digests) == 1
    if len(tags) > 1:
        return False
    return len({_repository_of(r) for r in tags + digests}) == 1


def id_removal_reference_conflict(tags: list[str], digests: list[str]) -> str:
    """Why `docker rmi <image ID>` must be forced because of the image's references; "" if it need not.

    moby's ImageDelete by ID removes the references itself only when they are a single
    reference (one repository, at most one tag); any other reference left over is an
    "active reference" conflict that only force overrides. An image with no reference
    at all (dangling) has nothing to conflict with: the engine deletes it plainly.
    """
    if not tags and not digests:
        return ""
    if _is_single_reference(tags, digests):
        return ""
    if len({_repository_of(r) for r in tags + digests}) > 1:
        return "it is referenced in several repositories (all of those references go)"
    return "it has several tags (all of them go)"


# --- plans --------------------------------------------------------------------------------


@dataclass
class PlanItem:
    """What removing one reference will do, as the engine will decide it."""

    ref: str
    reference: str = ""  # what the engine gets: a tag, or the full image ID
    image_id: str = ""
    by_id: bool = False
    action: str = ""  # UNTAG or DELETE
    tags: tuple[str, ...] = ()  # tags that go
    remaining_tags: tuple[str, ...] = ()  # tags that stay (untag only)
    containers: tuple[ContainerInfo, ...] = ()
    force_reasons: tuple[str, ...] = ()
    blocked: str = ""  # why it cannot be done at all (force cannot help)
    missing: str = ""  # why the reference names nothing
    size: int = 0
    unique_size: int = 0
    layers: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return short(self.image_id)

    @property
    def needs_force(self) -> bool:
        return bool(self.force_reasons)

    @property
    def actionable(self) -> bool:
        return not self.blocked and not self.missing

    @property
    def deletes(self) -> bool:
        return self.action == DELETE

    def frozen(self, *, force: bool) -> dict[str, Any]:
        """The confirmation data executed later, exactly as shown."""
        return {
            "image_id": self.image_id,
            "reference": self.reference,
            "tags": list(self.tags),
            "force": bool(force and self.needs_force),
            "action": self.action,
            "by_id": self.by_id,
            "containers": sorted(c.id for c in self.containers),
            "unique_size": self.unique_size if self.deletes else 0,
        }


@dataclass
class RemovalPlan:
    environment: Environment
    kind: str
    items: list[PlanItem] = field(default_factory=list)
    excluded: list[PlanItem] = field(default_factory=list)  # cleanup kinds: images kept and why

    @property
    def actionable(self) -> list[PlanItem]:
        return [i for i in self.items if i.actionable]

    @property
    def blocked(self) -> list[PlanItem]:
        return [i for i in self.items if i.blocked]

    @property
    def missing(self) -> list[PlanItem]:
        return [i for i in self.items if i.missing]

    @property
    def needs_force(self) -> bool:
        return any(i.needs_force for i in self.actionable)

    @property
    def bytes_freed(self) -> int:
        return sum(i.unique_size for i in self.actionable if i.deletes)

    @property
    def deleted_count(self) -> int:
        return sum(1 for i in self.actionable if i.deletes)

    def snapshot(self, *, force: bool) -> list[dict[str, Any]]:
        return [i.frozen(force=force) for i in self.actionable]


def _plan_item(state: EngineState, ref: str) -> PlanItem:
    """One reference against the current state, following the engine's ImageDelete rules."""
    try:
        img, by_id = state.resolve(ref)
    except LookupError as exc:
        return PlanItem(ref=ref, missing=str(exc))
    containers = tuple(state.dependents(img.id))
    running = [c for c in containers if c.running]
    stopped = [c for c in containers if not c.running]
    children = state.has_children(img.id)
    item = PlanItem(ref=ref, image_id=img.id, by_id=by_id, containers=containers, size=img.size)
    if not by_id:
        # Removing a tag deletes the image only when it is the image's single reference.
        single = _is_single_reference(img.tags, img.digests)
        reference = next((t for t in img.tags + img.digests if t == ref.strip()), None)
        if reference is None:
            reference = str(parse_reference(ref.strip()).familiar())
        item.reference = reference
        item.tags = (reference,)
        if not single:
            # Other tags remain: the engine only untags, whatever uses the image.
            item.action = UNTAG
            item.remaining_tags = tuple(t for t in img.tags if t != reference)
            return item
        item.action = DELETE
        if running:
            item.blocked = (
                "A running container uses this image: removing its last tag would not delete it, even forced. "
                "Stop and remove the container first."
            )
        elif children:
            item.blocked = "Other images are built on this image: remove them first."
        elif stopped:
            item.force_reasons = ("stopped containers use it",)
        return item
    item.reference = img.id
    item.action = DELETE
    item.tags = tuple(img.tags)
    if children:
        item.blocked = "Other images are built on this image: remove them first (force cannot override this)."
    elif running:
        item.blocked = (
            "A running container uses this image: it cannot be removed, not even with force. "
            "Stop and remove the container first."
        )
    else:
        reasons = []
        reference_conflict = id_removal_reference_conflict(img.tags, img.digests)
        if reference_conflict:
            reasons.append(reference_conflict)
        if stopped:
            reasons.append("stopped containers use it")
        item.force_reasons = tuple(reasons)
    return item


def _order_children_first(state: EngineState, items: list[PlanItem]) -> list[PlanItem]:
    # The engine refuses to delete a parent before its children; deeper images go first.
    # Tag removals keep the person's order ahead of ID removals of the same image.
    return sorted(items, key=lambda i: (i.by_id, -state.depth(i.image_id) if i.image_id else 0))


def _plan_sequence(state: EngineState, refs: list[str]) -> list[PlanItem]:
    items: list[PlanItem] = []
    for ref in refs:
        item = _plan_item(state, ref)
        if item.actionable:
            state.apply(item)
        items.append(item)
    return items


def _dedupe_refs(state: EngineState, refs: Iterable[str]) -> list[str]:
    """Drop repeats (also "app" next to "app:latest"), and tag refs of images also named by ID."""
    probes = [_plan_item(state, ref.strip()) for ref in refs if ref and ref.strip()]
    by_id = {p.image_id for p in probes if p.by_id and not p.missing}
    result, keys = [], set()
    for probe in probes:
        if probe.missing:
            key = ("missing", probe.ref)
        elif probe.by_id:
            key = ("id", probe.image_id)
        elif probe.image_id in by_id:
            continue  # the ID removal takes every tag
        else:
            key = ("ref", probe.reference)
        if key not in keys:
            keys.add(key)
            result.append(probe.ref)
    return result


def _add_sizes(environment: Environment, after: EngineState, items: list[PlanItem], *, layers: bool) -> None:
    """Unique sizes from `system df`; with `layers`, the layers no remaining image shares.

    `after` is the simulated state once the plan ran: untagged parents deleted along
    with their child are gone from it, so their layers count as going.
    """
    usage = engine.disk_usage(environment)
    others = set(after.images)
    other_layers: set[str] | None = None
    for item in items:
        if not item.image_id:
            continue
        du = usage.get(item.image_id)
        item.unique_size = du.unique_size if du else item.size
        if layers and item.actionable and item.deletes:
            if other_layers is None:
                other_layers = _layers_of(environment, others)
            try:
                mine = engine.inspect_image(environment, item.image_id).layers
            except ImageNotFound:
                continue
            item.layers = tuple(layer for layer in mine if other_layers is None or layer not in other_layers)


# Reading every other image's layers costs one call each: only on small hosts.
_LAYER_SCAN_LIMIT = 300


def _layers_of(environment: Environment, image_ids: set[str]) -> set[str] | None:
    if len(image_ids) > _LAYER_SCAN_LIMIT:
        return None
    found: set[str] = set()
    for image_id in image_ids:
        try:
            found.update(engine.inspect_image(environment, image_id).layers)
        except ImageNotFound:
            continue
    return found


def removal_plan(
    *,
    environment: Environment,
    refs: Iterable[str],
    sizes: bool = True,
    layers: bool = False,
    state: EngineState | None = None,
) -> RemovalPlan:
    """What removing these references (tags or image IDs) will do now, read from the engine
    (or from `state`, the caller's read of this very moment: it is changed by the planning)."""
    state = state or EngineState.load(environment)
    before = state.copy()
    refs = _dedupe_refs(state, refs)
    probe = [_plan_item(before, ref) for ref in refs]
    ordered_refs = [p.ref for p in _order_children_first(before, probe)]
    items = _plan_sequence(state, ordered_refs)
    if sizes:
        _add_sizes(environment, state, items, layers=layers)
    return RemovalPlan(environment=environment, kind=RemovalKind.REMOVE, items=items)


def cleanup_plan(*, environment: Environment, kind: str, sizes: bool = True, layers: bool = False) -> RemovalPlan:
    """Prune dangling, remove all unused, or remove every image: which images exactly, by ID.

    Images the engine would refuse (a running container, a kept image built on them) are
    listed as excluded, never attempted: the preview is exactly what then goes.
    """
    if kind not in (RemovalKind.PRUNE_DANGLING, RemovalKind.REMOVE_UNUSED, RemovalKind.REMOVE_ALL):
        raise ValueError(f"not a cleanup kind: {kind}")
    state = EngineState.load(environment)
    before = state.copy()
    used = {c.image_id for c in state.containers}
    candidates, excluded = [], []
    for img in state.top_level():
        if kind == RemovalKind.PRUNE_DANGLING and img.tags:
            continue
        if kind != RemovalKind.REMOVE_ALL and img.id in used:
            excluded.append(_plan_item(before, img.id))
            continue
        candidates.append(img.id)
    probe = [_plan_item(before, img_id) for img_id in candidates]
    items = []
    # Children first and simulated: a parent whose child stays comes out blocked.
    for ref in (p.ref for p in _order_children_first(before, probe)):
        item = _plan_item(state, ref)
        if not item.actionable:
            excluded.append(item)
            continue
        state.apply(item)
        items.append(item)
    if sizes:
        _add_sizes(environment, state, items, layers=layers)
    return RemovalPlan(environment=environment, kind=kind, items=items, excluded=excluded)


# --- confirmation ---------------------------------------------------------------------------


class PlanChanged(Exception):
    """The engine changed between the confirmation page and the POST: ask again."""

    def __init__(self, changes: list[str]) -> None:
        super().__init__("; ".join(changes))
        self.changes = changes


class ForceRequired(Exception):
    def __init__(self, items: list[PlanItem]) -> None:
        super().__init__("force required")
        self.items = items


def item_drift(confirmed: dict[str, Any], now: PlanItem) -> list[str]:
    """How the engine differs from what was confirmed, in words; empty when nothing that matters changed."""
    name = confirmed.get("reference") or confirmed.get("image_id", "")
    label = name if not is_image_id_like(name) else short(name)
    if now.missing:
        return [f"{label} is already gone."]
    changes = []
    if now.image_id != confirmed.get("image_id"):
        changes.append(
            f"{label} now points to another image ({now.short_id}, was {short(confirmed.get('image_id', ''))})."
        )
        return changes
    confirmed_containers = set(confirmed.get("containers") or ())
    new = [c for c in now.containers if c.id not in confirmed_containers]
    if new:
        changes.append(f"{label}: a container was created since ({', '.join(f'{c.name} {c.short_id}' for c in new)}).")
    new_tags = set(now.tags) - set(confirmed.get("tags") or ())
    if new_tags and now.by_id:
        changes.append(f"{label}: new tags since ({', '.join(sorted(new_tags))}) would go too.")
    if confirmed.get("action") == UNTAG and now.action == DELETE:
        changes.append(f"{label}: its other tags are gone, so removing it now deletes the image.")
    if now.blocked:
        changes.append(f"{label}: {now.blocked}")
    return changes


def removal_confirm(*, plan: RemovalPlan, snapshot: list[dict[str, Any]], force: bool) -> list[dict[str, Any]]:
    """Check the shown snapshot against a fresh plan; the frozen items to execute, or PlanChanged/ForceRequired."""
    now_by_ref = {i.reference or i.ref: i for i in plan.items}
    changes: list[str] = []
    frozen = []
    for shown in snapshot:
        key = shown.get("reference") or ""
        now = now_by_ref.get(key) or _missing_like(plan, key)
        drift = item_drift({**shown, "force": None}, now)
        if drift:
            changes.extend(drift)
            continue
        frozen.append(now.frozen(force=force))
    shown_refs = {s.get("reference") for s in snapshot}
    for item in plan.actionable:
        if item.reference not in shown_refs:
            changes.append(f"{item.reference} was not on the page you confirmed.")
    if changes:
        raise PlanChanged(changes)
    unforced = [now_by_ref[f["reference"]] for f in frozen if now_by_ref[f["reference"]].needs_force and not f["force"]]
    if unforced:
        raise ForceRequired(unforced)
    return frozen


def _missing_like(plan: RemovalPlan, key: str) -> PlanItem:
    for item in plan.items:
        if item.ref == key:
            return item
    return PlanItem(ref=key, missing=f"{key} is already gone.")


# --- execution -------------------------------------------------------------------------------


@dataclass
class ItemResult:
    reference: str
    image_id: str
    outcome: str  # REMOVED, UNTAGGED, SKIPPED, GONE, FAILED
    message: str
    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    force: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in (REMOVED, UNTAGGED, GONE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "image_id": self.image_id,
            "outcome": self.outcome,
            "ok": self.ok,
            "message": self.message,
            "untagged": self.untagged,
            "deleted": self.deleted,
            "force": self.force,
        }

    def report_text(self) -> str:
        lines = [f"Untagged: {t}" for t in self.untagged] + [f"Deleted: {d}" for d in self.deleted]
        return "; ".join(lines) if lines else self.message


def _conflict_message(conflict: RemovalConflict, state: EngineState) -> str:
    names = {c.id: c for c in state.containers}
    parts = []
    for c in conflict.containers:
        known = next((info for cid, info in names.items() if cid.startswith(c.id)), None)
        if known is not None:
            parts.append(f"{known.name} ({known.short_id}, {known.state})")
        else:
            parts.append(c.id)
    text = conflict.message
    if parts:
        text += " Containers: " + ", ".join(parts) + "."
    return text


def _execute_one(environment: Environment, state: EngineState, item: dict[str, Any]) -> ItemResult:
    reference = item["reference"]
    result = ItemResult(reference=reference, image_id=item["image_id"], outcome=FAILED, message="", force=item["force"])
    now = _plan_item(state, reference)
    drift = item_drift(item, now)
    if now.missing:
        result.outcome, result.message = GONE, "Already gone: nothing to do."
        return result
    if drift:
        result.outcome, result.message = (
            SKIPPED,
            "Not removed, the engine changed since it was confirmed: " + " ".join(drift),
        )
        return result
    try:
        if not item.get("by_id"):
            # Narrows the window between the check above and the removal: a tag is a moving pointer.
            current = engine.inspect_image(environment, reference).id
            if current != item["image_id"]:
                result.outcome = SKIPPED
                result.message = f"Not removed: {reference} now points to another image ({short(current)})."
                return result
        report = engine.remove_image(environment, reference, force=bool(item["force"]))
    except ImageNotFound:
        result.outcome, result.message = GONE, "Already gone: nothing to do."
        return result
    except RemovalConflict as conflict:
        result.message = _conflict_message(conflict, state)
        return result
    except EngineError as exc:
        result.message = exc.message
        return result
    result.untagged, result.deleted = list(report.untagged), list(report.deleted)
    result.outcome = REMOVED if report.image_deleted else UNTAGGED
    result.message = "Deleted" if report.image_deleted else "Untagged"
    state.apply(now)
    return result


_AUDIT_ACTIONS = {
    REMOVED: (AuditAction.IMAGE_REMOVED, "success"),
    UNTAGGED: (AuditAction.IMAGE_UNTAGGED, "success"),
    GONE: (AuditAction.IMAGE_REMOVE_SKIPPED, "info"),
    SKIPPED: (AuditAction.IMAGE_REMOVE_FAILED, "failure"),
    FAILED: (AuditAction.IMAGE_REMOVE_FAILED, "failure"),
}


def removal_execute(
    *,
    environment: Environment,
    items: list[dict[str, Any]],
    actor: User,
    request: HttpRequest | None = None,
    removal_job: RemovalJob | None = None,
    cleanup_request: CleanupRequest | None = None,
    on_result: Callable[[int, ItemResult], None] | None = None,
    skip: int = 0,
) -> list[ItemResult]:
    """Remove the frozen items in order, re-checking each against the engine; one audit event per item."""
    results: list[ItemResult] = []
    state: EngineState | None = None
    unavailable: EngineUnavailable | None = None
    for index, item in enumerate(items):
        if index < skip:
            continue
        if unavailable is not None:
            result = ItemResult(item["reference"], item["image_id"], FAILED, unavailable.message, force=item["force"])
        else:
            try:
                if state is None or time.monotonic() - state.loaded_at > _STATE_MAX_AGE:
                    state = EngineState.load(environment)
                result = _execute_one(environment, state, item)
            except EngineUnavailable as exc:
                unavailable = exc
                result = ItemResult(item["reference"], item["image_id"], FAILED, exc.message, force=item["force"])
        action, outcome = _AUDIT_ACTIONS[result.outcome]
        audit_record(
            action=action,
            outcome=outcome,
            actor=actor,
            request=request,
            environment=environment,
            target_reference=item["reference"],
            target_image_id=item["image_id"],
            parameters={
                "force": bool(item["force"]),
                "tags": list(item.get("tags") or ()),
                "untagged": result.untagged,
                "deleted": result.deleted,
                "result": result.outcome,
            },
            message=result.message,
            removal_job=removal_job,
            cleanup_request=cleanup_request,
        )
        results.append(result)
        if on_result is not None:
            on_result(index, result)
    return results


# --- jobs --------------------------------------------------------------------------------------


def removal_job_create(
    *,
    environment: Environment,
    kind: str,
    items: list[dict[str, Any]],
    actor: User,
    cleanup_request: CleanupRequest | None = None,
) -> RemovalJob:
    """A queued job for these frozen items (nothing runs yet)."""
    return RemovalJob.objects.create(
        environment=environment, kind=kind, items=items, created_by=actor, cleanup_request=cleanup_request
    )


def removal_job_should_inline(items: list[dict[str, Any]]) -> bool:
    """Short removals run in the request; longer ones go to a worker with a progress page."""
    return len(items) <= settings.BERTH_REMOVAL_INLINE_MAX


def removal_job_start(*, job: RemovalJob, request: HttpRequest | None = None) -> bool:
    """Run a short job now, in the request, or queue a long one; True when it ran here (results on `job`)."""
    if removal_job_should_inline(job.items):
        ran = removal_job_run(job_id=job.pk, request=request)
        if ran is not None:
            job.refresh_from_db()
        return True
    removal_job_enqueue(job)
    return False


def removal_job_enqueue(job: RemovalJob) -> None:
    """Hand the job to a worker once the row is committed."""
    from images_app.tasks.removal import removal_job_execute

    def publish() -> None:
        try:
            removal_job_execute.delay(job.pk)
        except Exception as exc:  # kombu/redis errors vary by transport
            transition(
                RemovalJob,
                job.pk,
                RemovalJob.Status.FAILED,
                only_from=[RemovalJob.Status.QUEUED],
                finished_at=timezone.now(),
                error_message=f"The job queue is not answering; nothing was removed ({exc.__class__.__name__}).",
            )
            from images_app.errors import BrokerUnavailable

            raise BrokerUnavailable("The job queue (Redis) is not answering; nothing was removed.") from exc

    transaction.on_commit(publish)


def _claim(job_id: int) -> bool:
    now = timezone.now()
    claimed = transition(RemovalJob, job_id, RemovalJob.Status.RUNNING, started_at=now, heartbeat_at=now)
    if claimed:
        return True
    # A worker that died mid-job leaves it running; a redelivery after the stale time resumes it.
    stale = now - timedelta(seconds=settings.BERTH_PULL_STALE_SECONDS)
    return bool(
        RemovalJob.objects.filter(pk=job_id, status=RemovalJob.Status.RUNNING, heartbeat_at__lt=stale).update(
            heartbeat_at=now
        )
    )


def removal_jobs_sweep_stale(*, now: datetime | None = None) -> int:
    """End running jobs whose worker stopped reporting for BERTH_REMOVAL_STALE_SECONDS; how many (audited).

    A job reports after every item, so silence that long means its worker died. Without this a job
    stays "running" until Redis redelivers its task (the visibility timeout, an hour by default).
    """
    now = now or timezone.now()
    seconds = settings.BERTH_REMOVAL_STALE_SECONDS
    silent = Q(heartbeat_at__lt=now - timedelta(seconds=seconds))
    swept = 0
    for job in RemovalJob.objects.filter(silent, status=RemovalJob.Status.RUNNING).select_related("environment"):
        done = list(job.results or [])
        status = RemovalJob.Status.PARTIAL if any(r.get("ok") for r in done) else RemovalJob.Status.FAILED
        message = (
            f"The worker stopped responding (nothing for {seconds} s): the job was abandoned "
            f"after {len(done)} of {len(job.items)} items; ask again for the rest."
        )
        with transaction.atomic():
            # Re-checked in the UPDATE: a job that reported meanwhile is left alone.
            moved = transition(
                RemovalJob,
                job.pk,
                status,
                only_from=[RemovalJob.Status.RUNNING],
                where=silent,
                finished_at=now,
                error_message=message,
                done_count=len(done),
            )
            if not moved:
                continue
            audit_record(
                action=AuditAction.REMOVAL_JOB_ABANDONED,
                outcome="failure",
                environment=job.environment,
                parameters={"done": len(done), "items": len(job.items)},
                message=message,
                removal_job=job,
                cleanup_request=job.cleanup_request,
            )
        swept += 1
        job.refresh_from_db()
        if job.cleanup_request is not None:
            _cleanup_request_finish(cleanup_request=job.cleanup_request, job=job)
    return swept


def removal_job_run(*, job_id: int, request: HttpRequest | None = None) -> RemovalJob | None:
    """Run a queued job exactly once (conditional UPDATE claims it); None when someone else has it."""
    if not _claim(job_id):
        return None
    job = RemovalJob.objects.select_related("environment", "created_by", "cleanup_request").get(pk=job_id)
    done = list(job.results or [])

    def record(index: int, result: ItemResult) -> None:
        done.append(result.as_dict())
        RemovalJob.objects.filter(pk=job.pk).update(
            results=done, done_count=F("done_count") + 1, heartbeat_at=timezone.now()
        )

    try:
        removal_execute(
            environment=job.environment,
            items=job.items,
            actor=job.created_by,
            request=request,
            removal_job=job,
            cleanup_request=job.cleanup_request,
            on_result=record,
            skip=len(done),
        )
        error = ""
    except Exception as exc:  # noqa: BLE001  (the job must end in a final state whatever happens)
        error = f"{exc.__class__.__name__}: {exc}"
    ok = [r for r in done if r["ok"]]
    if error or not ok and done:
        status = RemovalJob.Status.FAILED if not ok else RemovalJob.Status.PARTIAL
    else:
        status = RemovalJob.Status.SUCCEEDED if len(ok) == len(done) else RemovalJob.Status.PARTIAL
    transition(
        RemovalJob,
        job.pk,
        status,
        only_from=[RemovalJob.Status.RUNNING],
        finished_at=timezone.now(),
        error_message=error,
        results=done,
        done_count=len(done),
    )
    job.refresh_from_db()
    if job.cleanup_request is not None:
        _cleanup_request_finish(cleanup_request=job.cleanup_request, job=job)
    return job


def _cleanup_request_finish(*, cleanup_request: CleanupRequest, job: RemovalJob) -> None:
    """Store the job's per-item results on the request and mark it executed (once)."""
    won = transition(
        CleanupRequest,
        cleanup_request.pk,
        CleanupRequest.Status.EXECUTED,
        executed_at=timezone.now(),
        results=job.results,
    )
    if not won:
        return
    summary = results_summary(job.results)
    failed = summary[FAILED] + summary[SKIPPED]
    audit_record_for_request(
        cleanup_request,
        action="cleanup_executed",
        outcome="success" if not failed and not job.error_message else "failure",
        actor=job.created_by,
        parameters={
            "summary": summary,
            "items": [
                {"reference": r["reference"], "image_id": r["image_id"], "outcome": r["outcome"]} for r in job.results
            ],
        },
        message=job.error_message,
        removal_job=job,
    )


def results_summary(results: list[dict[str, Any]]) -> dict[str, int]:
    summary = {REMOVED: 0, UNTAGGED: 0, SKIPPED: 0, GONE: 0, FAILED: 0}
    for result in results:
        summary[result["outcome"]] = summary.get(result["outcome"], 0) + 1
    return summary
