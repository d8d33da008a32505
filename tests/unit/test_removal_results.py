"""One item's result as stored (RemovalJob.results, CleanupRequest.results) and as summarised."""

from __future__ import annotations

import pytest

from images_app.services.removal import ItemResult, Outcome, results_from_json, results_summary

DELETED = ItemResult("app:1", "sha256:" + "a" * 64, Outcome.REMOVED, "Deleted", ("app:1",), ("sha256:" + "a" * 64,))


def test_a_result_round_trips_through_json():
    assert ItemResult.from_json(DELETED.to_json()) == DELETED


def test_the_stored_json_keeps_the_shape_pages_read():
    assert DELETED.to_json() == {
        "reference": "app:1",
        "image_id": "sha256:" + "a" * 64,
        "outcome": "removed",
        "ok": True,
        "message": "Deleted",
        "untagged": ["app:1"],
        "deleted": ["sha256:" + "a" * 64],
        "force": False,
    }


@pytest.mark.parametrize(
    ("outcome", "ok"), [(o, o in (Outcome.REMOVED, Outcome.UNTAGGED, Outcome.GONE)) for o in Outcome]
)
def test_only_removed_untagged_and_gone_are_ok(outcome, ok):
    assert ItemResult("x", "", outcome, "").ok is ok


def test_the_report_says_what_the_engine_did_or_the_message():
    assert DELETED.report_text() == "Untagged: app:1; Deleted: sha256:" + "a" * 64
    assert ItemResult("x", "", Outcome.SKIPPED, "Not removed: moved").report_text() == "Not removed: moved"


def test_the_summary_counts_every_outcome():
    results = results_from_json(
        [DELETED.to_json(), DELETED.to_json(), ItemResult("y", "", Outcome.FAILED, "no").to_json()]
    )

    assert results_summary(results) == {"removed": 2, "untagged": 0, "skipped": 0, "gone": 0, "failed": 1}


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError):
        ItemResult.from_json({"reference": "x", "outcome": "vanished"})
