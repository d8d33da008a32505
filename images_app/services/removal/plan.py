"""Plans: what removing some references (or a whole cleanup kind) will do now, as the engine will decide it.

A plan is computed from the real engine (all images with their parent chains, all containers,
and `system df` for unique sizes on confirmation pages only), then simulated item by item in an
EngineState so a batch is planned as the engine will execute it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from images_app import engine
from images_app.engine import ContainerInfo
from images_app.errors import ImageNotFound
from images_app.models import Environment
from images_app.models.cleanup import RemovalKind
from images_app.references import parse_reference, short_id
from images_app.services.removal.contracts import Action, FrozenItem
from images_app.services.removal.engine_state import EngineState, id_removal_reference_conflict, is_single_reference

# Reading every other image's layers costs one call each: only on small hosts.
_LAYER_SCAN_LIMIT = 300


@dataclass
class PlanItem:
    """What removing one reference will do, as the engine will decide it."""

    ref: str
    reference: str = ""  # what the engine gets: a tag, or the full image ID
    image_id: str = ""
    by_id: bool = False
    action: str = ""  # an Action; "" when the reference names nothing
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
        return short_id(self.image_id)

    @property
    def needs_force(self) -> bool:
        return bool(self.force_reasons)

    @property
    def actionable(self) -> bool:
        return not self.blocked and not self.missing

    @property
    def deletes(self) -> bool:
        return self.action == Action.DELETE

    def frozen(self, *, force: bool) -> FrozenItem:
        """The confirmation data executed later, exactly as shown."""
        return FrozenItem(
            image_id=self.image_id,
            reference=self.reference,
            tags=tuple(self.tags),
            force=bool(force and self.needs_force),
            action=self.action,
            by_id=self.by_id,
            containers=tuple(sorted(c.id for c in self.containers)),
            unique_size=self.unique_size if self.deletes else 0,
        )


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

    def snapshot(self, *, force: bool) -> list[FrozenItem]:
        return [i.frozen(force=force) for i in self.actionable]


def plan_item(state: EngineState, ref: str) -> PlanItem:
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
        single = is_single_reference(img.tags, img.digests)
        reference = next((t for t in img.tags + img.digests if t == ref.strip()), None)
        if reference is None:
            reference = str(parse_reference(ref.strip()).familiar())
        item.reference = reference
        item.tags = (reference,)
        if not single:
            # Other tags remain: the engine only untags, whatever uses the image.
            item.action = Action.UNTAG
            item.remaining_tags = tuple(t for t in img.tags if t != reference)
            return item
        item.action = Action.DELETE
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
    item.action = Action.DELETE
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


def order_children_first(state: EngineState, items: list[PlanItem]) -> list[PlanItem]:
    # The engine refuses to delete a parent before its children; deeper images go first.
    # Tag removals keep the person's order ahead of ID removals of the same image.
    return sorted(items, key=lambda i: (i.by_id, -state.depth(i.image_id) if i.image_id else 0))


def _plan_sequence(state: EngineState, refs: list[str]) -> list[PlanItem]:
    items: list[PlanItem] = []
    for ref in refs:
        item = plan_item(state, ref)
        if item.actionable:
            state.apply(item)
        items.append(item)
    return items


def _dedupe_refs(state: EngineState, refs: Iterable[str]) -> list[PlanItem]:
    """Drop repeats (also "app" next to "app:latest"), and tag refs of images also named by ID.

    Returns the probe of each reference kept: its plan against `state` as it is now.
    """
    probes = [plan_item(state, ref.strip()) for ref in refs if ref and ref.strip()]
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
            result.append(probe)
    return result


def plan_refs(state: EngineState, refs: Iterable[str]) -> list[PlanItem]:
    """The plan of removing these references from `state`, in the order the engine needs (no engine call)."""
    before = state.copy()
    # Probed against `state` before anything is applied, so the same as probing `before`: one probe per ref saved.
    probe = _dedupe_refs(state, refs)
    ordered_refs = [p.ref for p in order_children_first(before, probe)]
    return _plan_sequence(state, ordered_refs)


def plan_cleanup(state: EngineState, kind: str) -> tuple[list[PlanItem], list[PlanItem]]:
    """The items a cleanup kind removes from `state`, and the images it keeps and why (no engine call).

    Images the engine would refuse (a running container, a kept image built on them) are
    excluded, never attempted: the preview is exactly what then goes.
    """
    if kind not in (RemovalKind.PRUNE_DANGLING, RemovalKind.REMOVE_UNUSED, RemovalKind.REMOVE_ALL):
        raise ValueError(f"not a cleanup kind: {kind}")
    before = state.copy()
    used = {c.image_id for c in state.containers}
    candidates, excluded = [], []
    for img in state.top_level():
        if kind == RemovalKind.PRUNE_DANGLING and img.tags:
            continue
        if kind != RemovalKind.REMOVE_ALL and img.id in used:
            excluded.append(plan_item(before, img.id))
            continue
        candidates.append(img.id)
    probe = [plan_item(before, img_id) for img_id in candidates]
    items = []
    # Children first and simulated: a parent whose child stays comes out blocked.
    for ref in (p.ref for p in order_children_first(before, probe)):
        item = plan_item(state, ref)
        if not item.actionable:
            excluded.append(item)
            continue
        state.apply(item)
        items.append(item)
    return items, excluded


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
    items = plan_refs(state, refs)
    if sizes:
        _add_sizes(environment, state, items, layers=layers)
    return RemovalPlan(environment=environment, kind=RemovalKind.REMOVE, items=items)


def cleanup_plan(*, environment: Environment, kind: str, sizes: bool = True, layers: bool = False) -> RemovalPlan:
    """Prune dangling, remove all unused, or remove every image: which images exactly, by ID."""
    if kind not in (RemovalKind.PRUNE_DANGLING, RemovalKind.REMOVE_UNUSED, RemovalKind.REMOVE_ALL):
        raise ValueError(f"not a cleanup kind: {kind}")
    state = EngineState.load(environment)
    items, excluded = plan_cleanup(state, kind)
    if sizes:
        _add_sizes(environment, state, items, layers=layers)
    return RemovalPlan(environment=environment, kind=kind, items=items, excluded=excluded)
