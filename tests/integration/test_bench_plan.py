"""The benchmark's seeding plan (pure): exactly the rows asked for, single- and many-tag images."""

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
