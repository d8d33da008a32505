"""Jobs and requests change status only through models.transitions.transition, which reads TRANSITIONS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from images_app.models import CleanupRequest, PullJob, RemovalJob
from images_app.models.transitions import IllegalTransition, allowed_from, transition
from images_app.services.cleanup_requests import cleanup_request_reject

Pull = PullJob.Status


def _pull(environment, user, status):
    return PullJob.objects.create(
        environment=environment, reference="localhost:5000/app:v1", requested_by=user, status=status
    )


def _snapshot(model, pk):
    return model.objects.filter(pk=pk).values().get()


def test_the_sources_of_a_move_are_read_from_the_table():
    assert allowed_from(PullJob, Pull.CANCELLED) == {Pull.QUEUED, Pull.RUNNING}
    assert allowed_from(PullJob, Pull.RUNNING) == {Pull.QUEUED}
    assert allowed_from(RemovalJob, RemovalJob.Status.PARTIAL) == {RemovalJob.Status.RUNNING}
    assert allowed_from(CleanupRequest, CleanupRequest.Status.EXECUTED) == {CleanupRequest.Status.APPROVED}


@pytest.mark.parametrize("final", [Pull.SUCCEEDED, Pull.FAILED, Pull.CANCELLED])
@pytest.mark.parametrize("to", [Pull.RUNNING, Pull.QUEUED, Pull.SUCCEEDED])
def test_an_illegal_transition_changes_nothing(environment, operator, final, to):
    job = _pull(environment, operator, final)
    before = _snapshot(PullJob, job.pk)
    try:
        moved = transition(PullJob, job.pk, to, finished_at=timezone.now(), error_message="changed")
    except IllegalTransition:
        moved = False  # nothing may move to queued at all
    assert moved is False
    assert _snapshot(PullJob, job.pk) == before


def test_a_legal_transition_moves_once(environment, operator):
    job = _pull(environment, operator, Pull.QUEUED)
    assert transition(PullJob, job.pk, Pull.RUNNING, heartbeat_at=timezone.now()) is True
    assert transition(PullJob, job.pk, Pull.RUNNING, heartbeat_at=timezone.now()) is False  # running -> running
    assert PullJob.objects.get(pk=job.pk).status == Pull.RUNNING


def test_asking_for_a_source_the_table_does_not_have_is_a_bug(environment, operator):
    job = _pull(environment, operator, Pull.SUCCEEDED)
    with pytest.raises(IllegalTransition, match="not in TRANSITIONS"):
        transition(PullJob, job.pk, Pull.FAILED, only_from=[Pull.SUCCEEDED])
    assert PullJob.objects.get(pk=job.pk).status == Pull.SUCCEEDED


def test_the_services_follow_the_table_when_it_changes(environment, operator, admin_user, monkeypatch):
    # Evidence the services read TRANSITIONS rather than their own copy: without
    # pending -> rejected in the table, rejecting a pending request changes nothing.
    request = CleanupRequest.objects.create(
        environment=environment,
        reason="tidy",
        requested_by=operator,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    table = {**CleanupRequest.TRANSITIONS, CleanupRequest.Status.PENDING: {CleanupRequest.Status.APPROVED}}
    monkeypatch.setattr(CleanupRequest, "TRANSITIONS", table)
    before = _snapshot(CleanupRequest, request.pk)
    with pytest.raises(IllegalTransition):
        cleanup_request_reject(cleanup_request=request, actor=admin_user, note="no")
    assert _snapshot(CleanupRequest, request.pk) == before
