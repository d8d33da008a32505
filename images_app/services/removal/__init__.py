"""Removing images: plan exactly what `docker rmi [-f]` will do, then do only what was confirmed.

Read in this order:
- contracts.py     the frozen item and the item result (JSON in and out), Action and Outcome
- engine_state.py  the engine's images and containers, and its deletion rules, simulated in memory
- plan.py          what removing references (or a cleanup kind) will do: untag or delete, force, blocked
- confirm.py       what the person confirmed against what the engine has now (drift)
- execute.py       removing frozen items one by one, re-checked, one audit event each
- jobs.py          the job row: created, run inline or on a worker, exactly once

Other code imports the names below from `images_app.services.removal`.
"""

from images_app.services.removal.confirm import ForceRequired, PlanChanged, item_drift, removal_confirm, request_drift
from images_app.services.removal.contracts import (
    Action,
    FrozenItem,
    ItemResult,
    Outcome,
    items_from_json,
    items_to_json,
    results_from_json,
    results_summary,
)
from images_app.services.removal.engine_state import EngineState, id_removal_reference_conflict
from images_app.services.removal.execute import removal_execute
from images_app.services.removal.jobs import (
    removal_job_create,
    removal_job_enqueue,
    removal_job_run,
    removal_job_should_inline,
    removal_job_start,
    removal_jobs_sweep_stale,
)
from images_app.services.removal.plan import PlanItem, RemovalPlan, cleanup_plan, plan_item, removal_plan

# The actions and outcomes by their short names, as pages and older code spell them.
UNTAG, DELETE = Action.UNTAG, Action.DELETE
REMOVED, UNTAGGED, SKIPPED, GONE, FAILED = (
    Outcome.REMOVED,
    Outcome.UNTAGGED,
    Outcome.SKIPPED,
    Outcome.GONE,
    Outcome.FAILED,
)

__all__ = [
    "DELETE",
    "FAILED",
    "GONE",
    "REMOVED",
    "SKIPPED",
    "UNTAG",
    "UNTAGGED",
    "Action",
    "EngineState",
    "ForceRequired",
    "FrozenItem",
    "ItemResult",
    "Outcome",
    "PlanChanged",
    "PlanItem",
    "RemovalPlan",
    "cleanup_plan",
    "id_removal_reference_conflict",
    "item_drift",
    "items_from_json",
    "items_to_json",
    "plan_item",
    "removal_confirm",
    "removal_execute",
    "removal_job_create",
    "removal_job_enqueue",
    "removal_job_run",
    "removal_job_should_inline",
    "removal_job_start",
    "removal_jobs_sweep_stale",
    "removal_plan",
    "request_drift",
    "results_from_json",
    "results_summary",
]
