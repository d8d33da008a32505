"""Confirmation and drift: is what the person was shown still what removing would do?

The confirmation page freezes each item (contracts.FrozenItem); the POST re-plans and compares.
Execution compares again before every item, so nothing the person did not confirm is removed.
"""

from __future__ import annotations

from images_app.references import is_image_id_like, short_id
from images_app.services.removal.contracts import Action, FrozenItem
from images_app.services.removal.plan import PlanItem, RemovalPlan


class PlanChanged(Exception):
    """The engine changed between the confirmation page and the POST: ask again."""

    def __init__(self, changes: list[str]) -> None:
        super().__init__("; ".join(changes))
        self.changes = changes


class ForceRequired(Exception):
    def __init__(self, items: list[PlanItem]) -> None:
        super().__init__("force required")
        self.items = items


def item_drift(confirmed: FrozenItem, now: PlanItem) -> list[str]:
    """How the engine differs from what was confirmed, in words; empty when nothing that matters changed."""
    name = confirmed.reference or confirmed.image_id
    label = name if not is_image_id_like(name) else short_id(name)
    if now.missing:
        return [f"{label} is already gone."]
    changes = []
    if now.image_id != confirmed.image_id:
        changes.append(f"{label} now points to another image ({now.short_id}, was {short_id(confirmed.image_id)}).")
        return changes
    confirmed_containers = set(confirmed.containers)
    new = [c for c in now.containers if c.id not in confirmed_containers]
    if new:
        changes.append(f"{label}: a container was created since ({', '.join(f'{c.name} {c.short_id}' for c in new)}).")
    new_tags = set(now.tags) - set(confirmed.tags)
    if new_tags and now.by_id:
        changes.append(f"{label}: new tags since ({', '.join(sorted(new_tags))}) would go too.")
    if confirmed.action == Action.UNTAG and now.action == Action.DELETE:
        changes.append(f"{label}: its other tags are gone, so removing it now deletes the image.")
    if now.blocked:
        changes.append(f"{label}: {now.blocked}")
    return changes


def removal_confirm(*, plan: RemovalPlan, snapshot: list[FrozenItem], force: bool) -> list[FrozenItem]:
    """Check the shown snapshot against a fresh plan; the frozen items to execute, or PlanChanged/ForceRequired."""
    now_by_ref = {i.reference or i.ref: i for i in plan.items}
    changes: list[str] = []
    frozen = []
    for shown in snapshot:
        now = now_by_ref.get(shown.reference) or _missing_like(plan, shown.reference)
        drift = item_drift(shown, now)
        if drift:
            changes.extend(drift)
            continue
        frozen.append(now.frozen(force=force))
    shown_refs = {s.reference for s in snapshot}
    for item in plan.actionable:
        if item.reference not in shown_refs:
            changes.append(f"{item.reference} was not on the page you confirmed.")
    if changes:
        raise PlanChanged(changes)
    unforced = [now_by_ref[f.reference] for f in frozen if now_by_ref[f.reference].needs_force and not f.force]
    if unforced:
        raise ForceRequired(unforced)
    return frozen


def _missing_like(plan: RemovalPlan, key: str) -> PlanItem:
    for item in plan.items:
        if item.ref == key:
            return item
    return PlanItem(ref=key, missing=f"{key} is already gone.")


def request_drift(*, items: list[FrozenItem], plan: RemovalPlan) -> list[tuple[FrozenItem, PlanItem, list[str]]]:
    """Each requested item next to what removing it would do now (from `plan`), and how that drifted."""
    now_by_ref = {i.reference or i.ref: i for i in plan.items}
    rows = []
    for item in items:
        now = now_by_ref.get(item.reference) or PlanItem(
            ref=item.reference, missing=f"{item.reference} is already gone."
        )
        rows.append((item, now, item_drift(item, now)))
    return rows
