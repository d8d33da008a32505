"""The retention policy form: every value bounded, every pattern and label checked, at least one rule."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django import forms

from images_app.models import Environment, RetentionPolicy
from images_app.retention_rules import LABEL_KEY, LABEL_VALUE, PATTERN
from images_app.schedules import parse_cron

MAX_LINES = 50
GB = 1_000_000_000


def _checked_lines(text: str, check: Callable[[str], str | None], what: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise forms.ValidationError(f"At most {MAX_LINES} {what}s.")
    for line in lines:
        problem = check(line)
        if problem:
            raise forms.ValidationError(f"{line[:60]!r}: {problem}")
    return "\n".join(lines)


def _pattern_problem(line: str) -> str:
    if not PATTERN.fullmatch(line):
        return "a pattern uses letters, digits, . _ - / : @ and the wildcards * and ? only"
    return ""


def _label_problem(line: str) -> str:
    key, _, value = line.partition("=")
    if not LABEL_KEY.fullmatch(key):
        return "a label is key or key=value; the key uses letters, digits, . _ - / only"
    if not LABEL_VALUE.fullmatch(value):
        return "the value must not contain control characters"
    return ""


class RetentionPolicyForm(forms.ModelForm[RetentionPolicy]):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.none(), required=False, empty_label="All environments"
    )
    unused_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label="Unused for more than (days)")
    keep_newest = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label="Keep the newest K tags per repository"
    )
    dangling_hours = forms.IntegerField(
        required=False, min_value=1, max_value=87600, label="Dangling older than (hours)"
    )
    disk_budget_gb = forms.DecimalField(
        required=False, min_value=Decimal("0.001"), max_value=Decimal("1000000"), decimal_places=3,
        label="Disk budget (GB)", help_text="When images take more, the least recently used go until under it",
    )  # fmt: skip
    interval_minutes = forms.IntegerField(
        required=False, min_value=5, max_value=43200, label="Run every (minutes)", help_text="Empty: by hand only"
    )
    cron = forms.CharField(
        required=False, max_length=100, label="Or on a cron-like schedule",
        help_text="minute hour day-of-month month day-of-week, e.g. 30 3 * * 1-5 (UTC)",
    )  # fmt: skip
    exclude_references = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
        help_text="One pattern a line, e.g. prod-* or */base:*",
    )  # fmt: skip
    exclude_labels = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000,
        help_text="One a line: key or key=value, e.g. berth.keep=true",
    )  # fmt: skip

    class Meta:
        model = RetentionPolicy
        fields = [
            "name", "environment", "enabled", "unused_days", "keep_newest", "dangling_hours", "unknown_as_unused",
            "exclude_references", "exclude_labels", "allow_force", "action", "interval_minutes", "cron",
        ]  # fmt: skip

    def __init__(self, *args: Any, environments: list[Environment] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = Environment.objects.filter(pk__in=[e.pk for e in environments or []])
        cast("forms.ModelChoiceField[Environment]", self.fields["environment"]).queryset = allowed
        if self.instance.pk and self.instance.disk_budget_bytes:
            self.initial["disk_budget_gb"] = Decimal(self.instance.disk_budget_bytes) / GB

    def clean_exclude_references(self) -> str:
        return _checked_lines(self.cleaned_data["exclude_references"], _pattern_problem, "pattern")

    def clean_exclude_labels(self) -> str:
        return _checked_lines(self.cleaned_data["exclude_labels"], _label_problem, "label")

    def clean_cron(self) -> str:
        value = " ".join(self.cleaned_data["cron"].split())
        if value:
            try:
                parse_cron(value)
            except ValueError as exc:
                raise forms.ValidationError(f"Not a schedule: {exc}.") from exc
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("interval_minutes") and data.get("cron"):
            self.add_error("cron", "Choose an interval or a cron-like schedule, not both.")
        rules = [data.get(name) for name in ("unused_days", "keep_newest", "dangling_hours", "disk_budget_gb")]
        if all(value is None for value in rules):
            raise forms.ValidationError("Choose at least one rule: a policy without rules removes nothing.")
        return data

    def save(self, commit: bool = True) -> RetentionPolicy:
        policy: RetentionPolicy = super().save(commit=False)
        budget = self.cleaned_data.get("disk_budget_gb")
        policy.disk_budget_bytes = int(budget * GB) if budget is not None else None
        if commit:
            policy.save()
        return policy
