"""The one way a job or request changes status: a conditional UPDATE that reads the model's TRANSITIONS.

`PullJob`, `RemovalJob` and `CleanupRequest` each declare `TRANSITIONS = {from: {to, ...}}`. A move
to `to` is written as `UPDATE ... SET status = to WHERE pk = ... AND status IN (every status the
table allows to reach `to`)`: the database decides who wins a race (a redelivered task, two admins
clicking at once), and a move the table does not allow changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Q


class IllegalTransition(ValueError):
    """Code asked for a move its model's TRANSITIONS table does not have: a bug, not a race."""


def allowed_from(model: type[models.Model], to: str) -> frozenset[str]:
    """Every status the model's TRANSITIONS table lets move to `to`."""
    table: dict[str, set[str]] = model.TRANSITIONS  # type: ignore[attr-defined]
    return frozenset(str(source) for source, targets in table.items() if to in targets)


def transition(
    model: type[models.Model],
    pk: Any,
    to: str,
    *,
    only_from: Iterable[str] | None = None,
    where: Q | None = None,
    **fields: Any,
) -> bool:
    """Move row `pk` to status `to` if its status allows it now (and `where` holds); whether it moved.

    `only_from` narrows the table's sources for this call (a queued pull is cancelled at once, a
    running one only flagged); asking for a source the table does not allow raises IllegalTransition.
    """
    sources = allowed_from(model, to)
    if only_from is not None:
        wanted = frozenset(str(source) for source in only_from)
        if not wanted <= sources:
            raise IllegalTransition(
                f"{model.__name__}: {sorted(wanted - sources)} -> {to} is not in TRANSITIONS"
            )
        sources = wanted
    if not sources:
        raise IllegalTransition(f"{model.__name__}: nothing may move to {to}")
    rows = model._default_manager.filter(pk=pk, status__in=sorted(sources))
    if where is not None:
        rows = rows.filter(where)
    return bool(rows.update(status=to, **fields))
