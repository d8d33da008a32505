"""The benchmark's seeding plan (pure), and its inventory-memory figure against today's selector."""

from __future__ import annotations

import pytest

from bench.inventory import plan


def test_plan_makes_exactly_the_rows_asked_for_with_both_shapes():
    tags = plan(1000)
    assert sum(tags) == 1000
    assert tags.count(1) > 0 and max(tags) > 1


def test_plan_honours_a_chosen_number_of_images():
    tags = plan(10_000, 400)
    assert (len(tags), sum(tags)) == (400, 10_000)


def test_plan_refuses_more_images_than_rows():
    with pytest.raises(ValueError):
        plan(10, 11)


@pytest.mark.django_db
def test_inventory_memory_figure_runs_against_the_selector_as_it_is_today(capsys):
    # bench.inventory calls a private selector; this keeps the two in step (it broke once, silently).
    from bench.inventory import inventory_memory
    from images_app.environments import sync_environments

    sync_environments()
    assert inventory_memory(images=50, containers=5) > 0
    assert "inventory of 50 images and 5 containers" in capsys.readouterr().out
