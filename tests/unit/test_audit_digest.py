"""The audit chain's digest and link checks, from literal events (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from images_app.services.audit import DIGEST_FIELDS, GENESIS_HASH, digest_of, scrub
from images_app.services.audit_chain import _link_problem

EVENT = {name: None for name in DIGEST_FIELDS} | {
    "created_at": datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
    "actor_id": 1,
    "actor_name": "alice",
    "client_address": "127.0.0.1",
    "environment": "local",
    "action": "image_removed",
    "target_reference": "app:1",
    "target_image_id": "sha256:" + "a" * 64,
    "parameters": {"force": False, "tags": ["app:1"]},
    "outcome": "success",
    "message": "Deleted",
    "prev_hash": GENESIS_HASH,
}
# Pinned: databases hold chains hashed this way; a change here breaks every existing chain.
EVENT_DIGEST = "93d7fafa553a6170c686224226971a7584e4d5369f9558ef3c98dff83ba5afb6"


def test_the_digest_of_a_known_event_is_stable():
    assert digest_of(EVENT) == EVENT_DIGEST


@pytest.mark.parametrize("name", [n for n in DIGEST_FIELDS if n != "created_at"])
def test_changing_any_hashed_field_changes_the_digest(name):
    altered = dict(EVENT, **{name: "something else"})

    assert digest_of(altered) != EVENT_DIGEST


def test_the_time_is_hashed_to_the_microsecond():
    assert digest_of(dict(EVENT, created_at=EVENT["created_at"].replace(microsecond=1))) != EVENT_DIGEST


def test_parameter_key_order_does_not_change_the_digest():
    reordered = dict(EVENT, parameters={"tags": ["app:1"], "force": False})

    assert digest_of(reordered) == EVENT_DIGEST


def _check(content, *, expected=GENESIS_HASH, before_previous=None, previous_id=None, event_id=2):
    return _link_problem(
        anchor=None,
        event_id=event_id,
        stored_hash=digest_of(content),
        content=content,
        expected=expected,
        before_previous=before_previous,
        previous_id=previous_id,
    )


def test_an_event_that_follows_the_previous_hash_is_fine():
    assert _check(EVENT) is None


def test_an_altered_event_is_named():
    problem = _link_problem(
        anchor=None,
        event_id=7,
        stored_hash=EVENT_DIGEST,
        content=dict(EVENT, message="Edited"),
        expected=GENESIS_HASH,
        before_previous=None,
        previous_id=None,
    )

    assert problem == ("Event #7 was altered: its content no longer matches its hash", 7)


def test_an_inserted_event_is_told_from_a_removed_one():
    inserted = _check(EVENT, expected="f" * 64, before_previous=GENESIS_HASH, previous_id=5, event_id=6)
    removed = _check(EVENT, expected="f" * 64, before_previous="e" * 64, previous_id=5, event_id=8)

    assert inserted == ("Event #5 was inserted: event #6 follows the event before it", 5)
    assert removed is not None and removed[0].startswith("Event(s) were removed between #5 and #8")


def test_secrets_never_reach_the_parameters():
    assert scrub({"username": "u", "password": "p", "nested": {"token": "t", "ok": 1}, "list": [{"auth": "a"}]}) == {
        "username": "u",
        "nested": {"ok": 1},
        "list": [{}],
    }
