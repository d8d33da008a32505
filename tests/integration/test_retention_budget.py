"""The disk budget on a real engine: the least recently used images go until under it, exclusions always win,
and the bytes the preview promises are the bytes the engine's disk report loses.

The budget is engine-wide by design (the engine's LayersSize from /system/df), so these tests run on an engine
of their own and set each budget from the total that engine reports at test time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from images_app.models import ImageUsage, RetentionPolicy
from tests.integration.support.retention import priv_environment, private_engine_host
from tooling.old_images import load_old_image
from tooling.scratch_images import build_scratch_image

KB = 1000
QUALIFYING = ("a", "b", "c", "d")  # least recently used first
PROTECTED = ("pinned", "kept", "running")


@pytest.fixture(scope="module")
def engine_host():
    with private_engine_host("-b") as host:
        yield host


@pytest.fixture
def priv(db, engine_host):
    with priv_environment(engine_host) as environment_and_api:
        yield environment_and_api


def _used(environment, image_id: str, days_ago: int) -> None:
    """What the watcher records when a container of the image stops (the last use)."""
    ImageUsage.objects.create(
        environment=environment,
        image_id=image_id,
        last_used_at=timezone.now() - timedelta(days=days_ago),
        last_container_name="nightly-job",
        last_container_id="c" * 64,
    )


@pytest.fixture
def fleet(priv):
    """Four images the budget may take, a to d from least to most recently used; neither their creation order
    (c, b, a, d) nor their sizes (c < a < b < d) say so. Three protected images used even longer ago.
    No two images share a layer, so each image's unique size is exactly what removing it frees."""
    environment, api = priv
    ids = {
        "a": load_old_image(api, "app:a", datetime(2024, 4, 1, tzinfo=UTC), size=600 * KB),
        "b": load_old_image(api, "app:b", datetime(2024, 3, 1, tzinfo=UTC), size=1_500 * KB),
        "c": load_old_image(api, "app:c", datetime(2024, 2, 1, tzinfo=UTC), size=300 * KB),
        # Built now and never used since: the most recent of all.
        "d": build_scratch_image(api, "app:d", layers=[2_000 * KB, 400 * KB], busybox=False, labels={"n": "d"}),
        "pinned": load_old_image(api, "app:prod-1", datetime(2024, 1, 1, tzinfo=UTC), size=3_000 * KB),
        "kept": load_old_image(
            api, "tools:1", datetime(2024, 1, 1, tzinfo=UTC), size=900 * KB, labels={"berth.keep": "true"}
        ),
        "running": build_scratch_image(api, "runner:1", layers=[700 * KB], labels={"n": "running"}),
    }
    for name, days_ago in (("pinned", 58), ("kept", 55), ("a", 40), ("b", 25), ("c", 10)):
        _used(environment, ids[name], days_ago)
    container = api.create_container(
        ids["running"],
        command=["/bin/busybox", "sleep", "600"],
        host_config=api.create_host_config(network_mode="none"),
    )
    api.start(container["Id"])
    assert {i["SharedSize"] for i in api.df()["Images"]} == {0}  # the premise of the byte-for-byte checks
    return ids


def _budget_policy(owner, environment, budget: int, **fields) -> RetentionPolicy:
    return RetentionPolicy.objects.create(
        name="budget",
        environment=environment,
        disk_budget_bytes=budget,
        exclude_references="prod-*",
        exclude_labels="berth.keep=true",
        action=RetentionPolicy.Action.APPLY,
        owner=owner,
        **fields,
    )


def _disk(api) -> tuple[int, dict[str, int]]:
    """The oracle: the engine's own disk report, its total and each image's unique bytes (as `docker system df -v`)."""
    report = api.df()
    return report["LayersSize"], {i["Id"]: i["Size"] - i["SharedSize"] for i in report["Images"]}


def _preview(admin_client, policy):
    response = admin_client.get(f"/policies/{policy.pk}/preview/priv/")
    assert response.status_code == 200
    return response


def _decisions(preview, ids) -> dict[str, str]:
    by_id = {row.image_id: row.decision for row in preview.rows}
    return {name: by_id[image_id] for name, image_id in ids.items()}


def _reasons(preview, ids) -> dict[str, str]:
    by_id = {row.image_id: row.verdict.reason for row in preview.rows}
    return {name: by_id[image_id] for name, image_id in ids.items()}


def _run(admin_client, policy, response) -> None:
    run = admin_client.post(f"/policies/{policy.pk}/preview/priv/", {"snapshot": response.context["snapshot_json"]})
    assert run.status_code == 302, run.content.decode()[:2000]


def test_the_budget_takes_the_least_recently_used_and_stops_once_under_it(admin_client, admin_user, priv, fleet):
    environment, api = priv
    total, unique = _disk(api)
    a, b = unique[fleet["a"]], unique[fleet["b"]]
    # Just below the total, yet more than `a` alone frees: the budget needs a and then b, nothing more.
    budget = total - a - 1
    policy = _budget_policy(admin_user, environment, budget)

    response = _preview(admin_client, policy)
    preview = response.context["preview"]
    assert preview.disk_total == total
    assert _decisions(preview, fleet) == {
        "a": "remove", "b": "remove", "c": "keep", "d": "keep", "pinned": "keep", "kept": "keep", "running": "keep",
    }  # fmt: skip
    reasons = _reasons(preview, fleet)
    assert reasons["a"].startswith("disk budget: least recently used") and reasons["b"] == reasons["a"]
    assert reasons["c"] == reasons["d"] == "no rule picks it"
    assert reasons["pinned"] == "excluded by pattern prod-*"
    assert reasons["kept"] == "excluded by label berth.keep=true"
    assert reasons["running"] == "in use by 1 running container (never removed)"
    assert preview.bytes_freed == a + b
    assert not preview.budget_unmet and b"The budget cannot be met" not in response.content
    assert total - a > budget >= total - a - b  # a alone was not enough; a and b are

    _run(admin_client, policy, response)
    after, _ = _disk(api)
    assert {image["Id"] for image in api.images()} == {fleet[name] for name in ("c", "d", *PROTECTED)}
    assert total - after == preview.bytes_freed  # the engine freed exactly what the preview said
    assert after <= budget


def test_exclusions_win_even_when_the_budget_cannot_be_met(admin_client, admin_user, priv, fleet):
    environment, api = priv
    total, unique = _disk(api)
    policy = _budget_policy(admin_user, environment, 1)  # no engine holding these images gets under 1 byte

    response = _preview(admin_client, policy)
    preview = response.context["preview"]
    decisions = _decisions(preview, fleet)
    assert {name for name, decision in decisions.items() if decision == "remove"} == set(QUALIFYING)
    assert preview.bytes_freed == sum(unique[fleet[name]] for name in QUALIFYING)
    assert preview.disk_total - preview.bytes_freed > policy.disk_budget_bytes  # still over: the preview shows both
    assert preview.budget_unmet and b"The budget cannot be met" in response.content
    assert not preview.removes_everything

    _run(admin_client, policy, response)
    after, _ = _disk(api)
    assert {image["Id"] for image in api.images()} == {fleet[name] for name in PROTECTED}
    assert total - after == preview.bytes_freed


def test_a_budget_already_met_removes_nothing(admin_client, admin_user, priv, fleet):
    environment, api = priv
    total, _ = _disk(api)
    policy = _budget_policy(admin_user, environment, total)  # "more than X": exactly X is within the budget

    response = _preview(admin_client, policy)
    preview = response.context["preview"]
    assert set(_decisions(preview, fleet).values()) == {"keep"}
    assert preview.bytes_freed == 0 and not preview.plan.items
    assert 'type="submit" class="danger" disabled' in response.content.decode()  # nothing to run

    before = {image["Id"] for image in api.images()}
    _run(admin_client, policy, response)
    assert {image["Id"] for image in api.images()} == before
    assert _disk(api)[0] == total


def test_what_another_rule_removes_counts_towards_the_budget(admin_client, admin_user, priv, fleet):
    environment, api = priv
    total, unique = _disk(api)
    budget = total - unique[fleet["a"]] - unique[fleet["b"]]
    # a is unused for more than 30 days and goes for that; the budget then needs only b on top of it.
    policy = _budget_policy(admin_user, environment, budget, unused_days=30)

    preview = _preview(admin_client, policy).context["preview"]
    decisions, reasons = _decisions(preview, fleet), _reasons(preview, fleet)
    assert {name for name, decision in decisions.items() if decision == "remove"} == {"a", "b"}
    assert reasons["a"] == "unused for more than 30 days"
    assert reasons["b"].startswith("disk budget: least recently used")
    assert preview.bytes_freed == unique[fleet["a"]] + unique[fleet["b"]]
