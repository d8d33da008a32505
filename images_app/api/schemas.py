"""The API's documented shapes (drf-spectacular reads these to write the OpenAPI schema).

Responses are built as plain dicts by images_app/api/present.py (cheap on a 1,000-row host);
these serializers document them, and the schema tests (Schemathesis) check that every response
matches. Request bodies are validated by the input serializers here, then by the pages' forms
and services, so a rule lives once.

Why one module over ~350 lines: it is the API's whole documented surface, one serializer per shape
with no logic; split by area it would scatter the shared ones (errors, frozen items, totals).
"""

from __future__ import annotations

from rest_framework import serializers

from images_app.models import AuditEvent, CleanupRequest, PullJob, RemovalJob
from images_app.models.cleanup import RemovalKind
from images_app.selectors.images import SORT_COLUMNS, STATUS_CHOICES

# --- errors ---------------------------------------------------------------------------------


class ErrorOut(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: invalid, not_found, plan_changed, ...")
    message = serializers.CharField(help_text="For a person.")
    field = serializers.CharField(required=False, help_text="The input a form error is about.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False, help_text="Every field's errors."
    )
    changes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="409 plan_changed: what changed since the preview."
    )
    title = serializers.CharField(required=False)


# --- environments and images ----------------------------------------------------------------


class EnvironmentOut(serializers.Serializer):
    name = serializers.CharField()
    is_default = serializers.BooleanField()
    is_sandbox = serializers.BooleanField()


class TotalsOut(serializers.Serializer):
    images = serializers.IntegerField()
    tags = serializers.IntegerField()
    size = serializers.IntegerField()
    in_use = serializers.IntegerField()
    in_use_size = serializers.IntegerField()
    unused = serializers.IntegerField()
    unused_size = serializers.IntegerField()
    dangling = serializers.IntegerField()
    dangling_size = serializers.IntegerField()
    reclaimable = serializers.IntegerField(help_text="Upper bound: shared layers may stay.")


class LastUseOut(serializers.Serializer):
    last_used = serializers.DateTimeField(allow_null=True, help_text="The last container created or started from it.")
    container = serializers.CharField(allow_blank=True, help_text="That container's name.")
    in_use_now = serializers.BooleanField(help_text="A running container uses it.")
    watched_since = serializers.DateTimeField(
        allow_null=True, help_text="The horizon: before it, use is unknown (null: this engine is not watched)."
    )
    unused_since = serializers.DateTimeField(allow_null=True, help_text="Known unused since then (null: unknown).")


class UpdateStateOut(serializers.Serializer):
    state = serializers.ChoiceField(choices=["up_to_date", "update_available", "unknown"])
    reason = serializers.CharField(allow_blank=True, help_text="Why unknown (built locally, registry unreachable...).")
    remote_digest = serializers.CharField(allow_blank=True)
    checked_at = serializers.DateTimeField(allow_null=True)


class ImageRowOut(serializers.Serializer):
    id = serializers.CharField()
    short_id = serializers.CharField()
    repository = serializers.CharField()
    tag = serializers.CharField()
    reference = serializers.CharField(help_text="What removing or pulling this row names: the tag, or the ID.")
    created = serializers.DateTimeField()
    size = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[c for c, _ in STATUS_CHOICES])
    containers = serializers.IntegerField()
    running_containers = serializers.IntegerField()
    stopped_containers = serializers.IntegerField()
    tag_count = serializers.IntegerField()
    other_tags = serializers.ListField(child=serializers.CharField())
    repo_digests = serializers.ListField(child=serializers.CharField())
    labels = serializers.DictField(child=serializers.CharField())
    last_use = LastUseOut(allow_null=True, help_text="What the watcher knows of its use (null: not asked).")
    update = UpdateStateOut(allow_null=True, help_text="The stored update check of this tag (null: untagged).")


class ImageListOut(serializers.Serializer):
    count = serializers.IntegerField(help_text="Rows matching the filters (all pages).")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    engine_total = serializers.IntegerField()
    filtered = serializers.BooleanField()
    totals = TotalsOut()
    results = ImageRowOut(many=True)


class HistoryEntryOut(serializers.Serializer):
    id = serializers.CharField()
    created = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField()
    size = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())
    comment = serializers.CharField(allow_blank=True)
    empty = serializers.BooleanField()


class ContainerUseOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    state = serializers.CharField()
    status = serializers.CharField()
    running = serializers.BooleanField()
    created = serializers.DateTimeField()
    created_from = serializers.CharField()


class DiskOut(serializers.Serializer):
    size = serializers.IntegerField()
    shared_size = serializers.IntegerField()
    unique_size = serializers.IntegerField()
    containers = serializers.IntegerField()


class ImageDetailOut(serializers.Serializer):
    id = serializers.CharField()
    short_id = serializers.CharField()
    repo_tags = serializers.ListField(child=serializers.CharField())
    repo_digests = serializers.ListField(child=serializers.CharField())
    created = serializers.DateTimeField(allow_null=True)
    size = serializers.IntegerField()
    architecture = serializers.CharField(allow_blank=True)
    os = serializers.CharField(allow_blank=True)
    variant = serializers.CharField(allow_blank=True)
    author = serializers.CharField(allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField())
    entrypoint = serializers.ListField(child=serializers.CharField())
    cmd = serializers.ListField(child=serializers.CharField())
    env = serializers.ListField(child=serializers.CharField())
    exposed_ports = serializers.ListField(child=serializers.CharField())
    working_dir = serializers.CharField(allow_blank=True)
    user = serializers.CharField(allow_blank=True)
    layers = serializers.ListField(child=serializers.CharField())
    parent_id = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=[c for c, _ in STATUS_CHOICES])
    running_containers = serializers.IntegerField()
    stopped_containers = serializers.IntegerField()
    history = HistoryEntryOut(many=True)
    containers = ContainerUseOut(many=True)
    disk = DiskOut(allow_null=True, help_text="Unique and shared bytes (the engine's disk-usage report).")
    disk_error = serializers.CharField(allow_blank=True)


class ImageListQueryIn(serializers.Serializer):
    """Documents the images list's query; the page's own form (ImageFilterForm) validates it."""

    q = serializers.CharField(required=False, help_text="Part of repository or tag, or the start of the ID.")
    status = serializers.ChoiceField(required=False, choices=[c for c, _ in STATUS_CHOICES])
    reference = serializers.CharField(required=False, help_text="As `docker image ls --filter reference=`.")
    before = serializers.CharField(required=False, help_text="Created before this image (ID or tag).")
    since = serializers.CharField(required=False, help_text="Created after this image (ID or tag).")
    label = serializers.CharField(required=False, help_text="`key` or `key=value`.")
    sort = serializers.ChoiceField(required=False, choices=list(SORT_COLUMNS))
    order = serializers.ChoiceField(required=False, choices=["asc", "desc"])
    page = serializers.IntegerField(required=False, min_value=1)


# --- pulls ---------------------------------------------------------------------------------------


class PullCreateIn(serializers.Serializer):
    reference = serializers.CharField(
        max_length=512, help_text="As for docker pull: [registry/]repository[:tag][@digest]."
    )
    registry = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="A registry's id: pull with its stored credentials.",
    )


class PullStateOut(serializers.Serializer):
    status = serializers.CharField()
    layers = serializers.ListField(child=serializers.DictField())
    overall = serializers.DictField()
    digest = serializers.CharField(allow_blank=True)
    status_line = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    image_id = serializers.CharField(allow_blank=True)
    seq = serializers.IntegerField(required=False)


class PullOut(serializers.Serializer):
    id = serializers.IntegerField()
    environment = serializers.CharField()
    reference = serializers.CharField()
    registry = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=PullJob.Status.choices)
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    image_id = serializers.CharField(allow_blank=True)
    digest = serializers.CharField(allow_blank=True)
    status_line = serializers.CharField(allow_blank=True)
    bytes_downloaded = serializers.IntegerField()
    bytes_total = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    cancel_requested = serializers.BooleanField()
    can_cancel = serializers.BooleanField()
    events_url = serializers.CharField(help_text="Server-sent events of this pull's progress.")


class PullDetailOut(PullOut):
    state = PullStateOut()


class PullCreatedOut(PullOut):
    joined = serializers.BooleanField(help_text="True: this reference was already being pulled; this is that pull.")


class PullListOut(serializers.Serializer):
    running = PullOut(many=True)
    recent = PullOut(many=True)


class PullCancelOut(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["cancelled", "cancelling", "finished"])
    pull = PullOut()


# --- removal -------------------------------------------------------------------------------------

KIND_CHOICES = [c for c, _ in RemovalKind.choices]


class ContainerRefOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    state = serializers.CharField()


class PlanItemOut(serializers.Serializer):
    ref = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    image_id = serializers.CharField(allow_blank=True)
    by_id = serializers.BooleanField()
    action = serializers.CharField(allow_blank=True, help_text="untag or delete")
    tags = serializers.ListField(child=serializers.CharField())
    remaining_tags = serializers.ListField(child=serializers.CharField())
    containers = ContainerRefOut(many=True)
    force_reasons = serializers.ListField(child=serializers.CharField())
    needs_force = serializers.BooleanField()
    blocked = serializers.CharField(allow_blank=True)
    missing = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField()
    unique_size = serializers.IntegerField()
    layers = serializers.ListField(child=serializers.CharField())


class FrozenItem(serializers.Serializer):
    """One item of a preview's snapshot: send the snapshot back unchanged to remove exactly that."""

    image_id = serializers.CharField(max_length=80)
    reference = serializers.CharField(max_length=600)
    tags = serializers.ListField(child=serializers.CharField(max_length=600), max_length=5000, required=False)
    force = serializers.BooleanField(required=False)
    action = serializers.CharField(required=False, allow_blank=True, max_length=10)
    by_id = serializers.BooleanField(required=False)
    containers = serializers.ListField(child=serializers.CharField(max_length=80), max_length=5000, required=False)
    unique_size = serializers.IntegerField(required=False, min_value=0)


class RemovalPreviewOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    mode = serializers.ChoiceField(choices=["remove", "request"], help_text="remove (admins) or request (operators)")
    items = PlanItemOut(many=True)
    excluded = PlanItemOut(many=True)
    needs_force = serializers.BooleanField()
    bytes_freed = serializers.IntegerField()
    deleted_count = serializers.IntegerField()
    snapshot = FrozenItem(many=True)


MAX_REFS = 2000  # as the pages: more references than any list page sends at once


class RemovalPreviewQueryIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KIND_CHOICES, required=False, default=RemovalKind.REMOVE)
    ref = serializers.ListField(
        child=serializers.CharField(max_length=600),
        required=False,
        max_length=MAX_REFS,
        help_text="kind=remove: the tags or image IDs to remove (repeat ref=).",
    )


class RemovalCreateIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KIND_CHOICES, required=False, default=RemovalKind.REMOVE)
    refs = serializers.ListField(
        child=serializers.CharField(max_length=600),
        required=False,
        max_length=MAX_REFS,
        default=list,
        help_text="kind=remove: the same references as the preview.",
    )
    snapshot = FrozenItem(many=True, help_text="The preview's snapshot, unchanged.", max_length=MAX_REFS)
    force = serializers.BooleanField(required=False, default=False, help_text="kind=remove: force where needed.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    confirm_name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        default="",
        help_text="kind=remove_all: the environment's name.",
    )


class ItemResultOut(serializers.Serializer):
    reference = serializers.CharField()
    image_id = serializers.CharField()
    outcome = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)
    untagged = serializers.ListField(child=serializers.CharField())
    deleted = serializers.ListField(child=serializers.CharField())
    force = serializers.BooleanField()


class RemovalJobOut(serializers.Serializer):
    id = serializers.IntegerField()
    environment = serializers.CharField()
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    status = serializers.ChoiceField(choices=RemovalJob.Status.choices)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    total = serializers.IntegerField()
    done_count = serializers.IntegerField()
    items = FrozenItem(many=True)
    results = ItemResultOut(many=True)
    summary = serializers.DictField(child=serializers.IntegerField())
    error = serializers.CharField(allow_blank=True)
    cleanup_request = serializers.IntegerField(allow_null=True)


class RequestOut(serializers.Serializer):
    id = serializers.IntegerField()
    environment = serializers.CharField()
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    status = serializers.ChoiceField(choices=CleanupRequest.Status.choices)
    reason = serializers.CharField()
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField(allow_blank=True)
    executed_at = serializers.DateTimeField(allow_null=True)
    bytes_preview = serializers.IntegerField()
    items = FrozenItem(many=True)
    results = ItemResultOut(many=True)
    removal_job = serializers.IntegerField(allow_null=True)


class RequestNowRowOut(serializers.Serializer):
    requested = FrozenItem()
    now = PlanItemOut()
    changes = serializers.ListField(child=serializers.CharField())


class RequestDetailOut(RequestOut):
    may_approve = serializers.BooleanField()
    now = RequestNowRowOut(many=True, allow_null=True, help_text="Pending only: what removing each would do now.")
    engine_error = serializers.CharField(allow_blank=True)


class RemovalOutcomeOut(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["removed", "queued", "requested", "nothing"],
        help_text="removed: done in this request; queued: a worker runs it (follow the job); "
        "requested: an admin must approve; nothing: nothing to remove (or all of it already gone).",
    )
    message = serializers.CharField(allow_blank=True, help_text="outcome nothing: what the engine says is gone.")
    job = RemovalJobOut(allow_null=True)
    request = RequestOut(allow_null=True)


class RequestListOut(serializers.Serializer):
    results = RequestOut(many=True)


class RejectIn(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="Why (required).")


class ApproveOut(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["removed", "queued"])
    request = RequestOut()
    job = RemovalJobOut()


# --- search, registries ----------------------------------------------------------------------------


class SearchRowOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    star_count = serializers.IntegerField()
    is_official = serializers.BooleanField()
    is_automated = serializers.BooleanField()
    pull_reference = serializers.CharField(allow_null=True)


class SearchOut(serializers.Serializer):
    term = serializers.CharField()
    index = serializers.CharField()
    from_cache = serializers.BooleanField()
    fetched_at = serializers.DateTimeField()
    results = SearchRowOut(many=True)


class SearchQueryIn(serializers.Serializer):
    """Documents the search query; the page's own form (SearchForm) validates it."""

    term = serializers.CharField(max_length=200)
    index = serializers.IntegerField(required=False, help_text="A registry's id: search its index.")
    official = serializers.BooleanField(required=False)
    min_stars = serializers.IntegerField(required=False, min_value=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100)
    refresh = serializers.BooleanField(required=False, help_text="Bypass the cache.")


class RegistryOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    host = serializers.CharField(allow_blank=True)
    username = serializers.CharField(allow_blank=True)
    has_password = serializers.BooleanField(help_text="Passwords are write-only: never returned.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RegistryIn(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    url = serializers.CharField(max_length=300)
    username = serializers.CharField(max_length=150, required=False, allow_blank=True)
    password = serializers.CharField(
        max_length=4096,
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text="Write-only; on change, empty keeps the stored one.",
    )
    clear_password = serializers.BooleanField(required=False, help_text="On change: remove the stored password.")


# --- audit, me ---------------------------------------------------------------------------------------


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="The actor's name as it was.")
    client_address = serializers.CharField(allow_null=True)
    environment = serializers.CharField(allow_blank=True)
    action = serializers.CharField()
    outcome = serializers.ChoiceField(choices=AuditEvent.Outcome.choices)
    target_reference = serializers.CharField(allow_blank=True)
    target_image_id = serializers.CharField(allow_blank=True)
    parameters = serializers.JSONField()
    message = serializers.CharField(allow_blank=True)
    pull_job = serializers.IntegerField(allow_null=True)
    cleanup_request = serializers.IntegerField(allow_null=True)
    removal_job = serializers.IntegerField(allow_null=True)
    hash = serializers.CharField()
    prev_hash = serializers.CharField()


class AuditPageOut(serializers.Serializer):
    results = AuditEventOut(many=True)
    older = serializers.IntegerField(allow_null=True, help_text="Pass as before= for the next (older) page.")
    newer = serializers.IntegerField(allow_null=True, help_text="Pass as after= for the previous (newer) page.")
    count = serializers.IntegerField()
    count_capped = serializers.BooleanField()


class AuditQueryIn(serializers.Serializer):
    """Documents the history's filters; the page's own form (AuditFilterForm) validates them."""

    actor = serializers.CharField(required=False)
    action = serializers.CharField(required=False)
    outcome = serializers.ChoiceField(required=False, choices=AuditEvent.Outcome.choices)
    environment = serializers.CharField(required=False)
    target = serializers.CharField(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    pull_job = serializers.IntegerField(required=False, min_value=1)
    cleanup_request = serializers.IntegerField(required=False, min_value=1)
    removal_job = serializers.IntegerField(required=False, min_value=1)
    before = serializers.IntegerField(required=False, min_value=1, help_text="Cursor: events older than this one.")
    after = serializers.IntegerField(required=False, min_value=1, help_text="Cursor: events newer than this one.")


class MeOut(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    token = serializers.CharField(allow_null=True, help_text="The token's name, when called with one.")


# --- what the watcher knows, update checks, retention policies -----------------------------------


class OutdatedTagOut(serializers.Serializer):
    reference = serializers.CharField()
    image_id = serializers.CharField()
    remote_digest = serializers.CharField()
    remote_created = serializers.DateTimeField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)


class UpdatesOut(serializers.Serializer):
    last_check = serializers.DateTimeField(allow_null=True, help_text="When the last check of this engine ended.")
    outdated = OutdatedTagOut(many=True)


class AcceptedOut(serializers.Serializer):
    message = serializers.CharField()


class PolicyOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    environment = serializers.CharField(allow_null=True, help_text="null: every environment.")
    enabled = serializers.BooleanField()
    action = serializers.ChoiceField(choices=["ask", "apply"])
    unused_days = serializers.IntegerField(allow_null=True)
    keep_newest = serializers.IntegerField(allow_null=True)
    dangling_hours = serializers.IntegerField(allow_null=True)
    disk_budget_bytes = serializers.IntegerField(allow_null=True)
    exclude_references = serializers.ListField(child=serializers.CharField())
    exclude_labels = serializers.ListField(child=serializers.CharField())
    interval_minutes = serializers.IntegerField(allow_null=True)
    cron = serializers.CharField(allow_blank=True)
    owner = serializers.CharField()
    last_run_at = serializers.DateTimeField(allow_null=True)
    last_run_summary = serializers.CharField(allow_blank=True)


class PolicyRowOut(serializers.Serializer):
    image_id = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    decision = serializers.ChoiceField(choices=["remove", "untag", "keep"])
    reason = serializers.CharField(allow_blank=True, help_text="The rule or exclusion that decided it.")
    blocked = serializers.CharField(allow_blank=True, help_text="Why the engine would refuse it (then kept).")
    last_use = LastUseOut()
    running_containers = serializers.IntegerField()
    stopped_containers = serializers.IntegerField()
    freed = serializers.IntegerField(help_text="Exact bytes its removal frees (its unique size).")


class PolicyPreviewOut(serializers.Serializer):
    policy = PolicyOut()
    environment = serializers.CharField()
    removes_everything = serializers.BooleanField()
    bytes_freed = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    rows = PolicyRowOut(many=True)
    snapshot = FrozenItem(many=True, help_text="Send it back unchanged to run exactly this plan.")


class PolicyIn(serializers.Serializer):
    """A policy as the policy form takes it (the same validation: patterns, labels, ranges, schedule)."""

    name = serializers.CharField(max_length=100)
    environment = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=50, help_text="An environment's name; null: all."
    )
    enabled = serializers.BooleanField(required=False, default=True)
    unused_days = serializers.IntegerField(required=False, allow_null=True, default=None)
    keep_newest = serializers.IntegerField(required=False, allow_null=True, default=None)
    dangling_hours = serializers.IntegerField(required=False, allow_null=True, default=None)
    disk_budget_gb = serializers.DecimalField(
        required=False, allow_null=True, default=None, max_digits=12, decimal_places=3
    )
    unknown_as_unused = serializers.BooleanField(required=False, default=False)
    exclude_references = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, default=list, max_length=50
    )
    exclude_labels = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, default=list, max_length=50
    )
    allow_force = serializers.BooleanField(required=False, default=False)
    action = serializers.ChoiceField(choices=["ask", "apply"], required=False, default="ask")
    interval_minutes = serializers.IntegerField(required=False, allow_null=True, default=None)
    cron = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class PolicyRunIn(serializers.Serializer):
    snapshot = FrozenItem(many=True, help_text="The preview's snapshot, unchanged.", max_length=MAX_REFS)


class PolicyRunOut(serializers.Serializer):
    message = serializers.CharField()
    request = serializers.IntegerField(allow_null=True, help_text="The removal request it created (action ask).")
    removal_job = serializers.IntegerField(allow_null=True, help_text="The removal job it started (action apply).")
