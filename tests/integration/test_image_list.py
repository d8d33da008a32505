"""The images list: rows as `docker image ls`, status, filters, sort, pages, totals, links."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

from images_app import engine
from images_app.engine import ImageInfo
from images_app.forms.images import ImageFilterForm
from images_app.selectors.images import (
    ImageListQuery,
    ImageRow,
    row_matches_text,
    sort_rows,
    space_summary,
    with_sort,
)
from tests.integration.support.inventory import LABEL, cli_rows, new_run_label, page_rows

URL = "/env/local/images/"


def _get(client, **params):
    return client.get(URL, params)


@pytest.fixture
def run_label():
    return new_run_label()


@pytest.fixture
def trio(images, unique_name, run_label):
    """Three images of one test: one with two tags, one plain, one dangling."""
    value, _ = run_label
    repo = unique_name("inv")
    big = images.build(f"{repo}:one", layers=[40_000], labels={LABEL: value, "tier": "web"})
    images.tag(big, f"{repo}:also")
    small = images.build(f"{repo}:two", busybox=False, labels={LABEL: value, "tier": "db"})
    dangling = images.build(None, busybox=False, labels={LABEL: value})
    return {"repo": repo, "big": big, "small": small, "dangling": dangling}


# --- values equal the engine's ----------------------------------------------------


def test_rows_equal_what_docker_image_ls_lists(viewer_client, trio, docker_api, run_label):
    response = _get(viewer_client, label=run_label[1])
    assert response.status_code == 200
    assert page_rows(response.context["rows"]) == cli_rows(docker_api, {"label": run_label[1]})
    assert len(response.context["rows"]) == 4


def test_the_whole_list_equals_the_engine_at_one_moment(viewer_client, trio, docker_api):
    response = _get(viewer_client)
    oracle = cli_rows(docker_api)
    assert page_rows(response.context["rows"]) == oracle


def test_row_shows_short_id_full_id_exact_bytes_and_exact_time(viewer_client, trio, docker_api):
    html = _get(viewer_client, q=trio["repo"] + ":two").content.decode()
    image = docker_api.inspect_image(trio["small"])
    assert f'title="{trio["small"]}">{trio["small"][7:19]}</code>' in html
    assert f'data-copy="{trio["small"]}"' in html
    assert f'title="{image["Size"]} bytes"' in html
    created = datetime.fromtimestamp(docker_api.images(filters={"reference": trio["repo"] + ":two"})[0]["Created"], UTC)
    assert created.strftime("%Y-%m-%d %H:%M:%S") in html


def test_dangling_image_shows_as_none_with_dangling_status(viewer_client, trio):
    rows = [r for r in _get(viewer_client, q=trio["dangling"][7:19]).context["rows"]]
    assert [(r.repository, r.tag, r.status) for r in rows] == [("<none>", "<none>", "dangling")]


def test_multi_tag_image_rows_say_they_are_one_image(viewer_client, trio):
    response = _get(viewer_client, q=trio["repo"] + ":")
    html = response.content.decode()
    rows = [r for r in response.context["rows"] if r.image.id == trio["big"]]
    assert sorted(r.tag for r in rows) == ["also", "one"]
    assert sorted(r.tag_index for r in rows) == [1, 2]
    assert {r.tag_count for r in rows} == {2}
    assert "tag 1 of 2" in html and "tag 2 of 2" in html
    assert f"The same image as {trio['repo']}:" in html


def test_in_use_counts_running_and_stopped_containers(viewer_client, images, unique_name, start_container, docker_api):
    repo = unique_name("used")
    image_id = images.build(f"{repo}:1")
    start_container(image_id, running=True)
    start_container(f"{repo}:1")
    start_container(image_id)
    response = _get(viewer_client, q=repo)
    (row,) = response.context["rows"]
    oracle = docker_api.containers(all=True, filters={"ancestor": image_id})
    assert row.running_containers == sum(1 for c in oracle if c["State"] == "running") == 1
    assert row.stopped_containers == sum(1 for c in oracle if c["State"] != "running") == 2
    assert row.status == "in_use"
    assert "in use · 1 running, 2 stopped" in response.content.decode()


# --- filters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [("unused", {"big"}), ("dangling", {"dangling"}), ("in_use", {"small"})],
)
def test_status_filter_keeps_only_that_status(viewer_client, trio, start_container, run_label, status, expected):
    start_container(trio["small"])  # busybox-less image: created, never started
    response = _get(viewer_client, label=run_label[1], status=status)
    assert response.status_code == 200
    assert {r.image.id for r in response.context["rows"]} == {trio[name] for name in expected}


def test_search_matches_repository_tag_and_id_prefix(viewer_client, trio):
    by_tag = _get(viewer_client, q=f"{trio['repo']}:als").context["rows"]
    assert [(r.tag) for r in by_tag] == ["also"]
    by_id = _get(viewer_client, q=trio["small"][7:15]).context["rows"]
    assert {r.image.id for r in by_id} == {trio["small"]}
    with_prefix = _get(viewer_client, q=trio["small"][:20]).context["rows"]
    assert {r.image.id for r in with_prefix} == {trio["small"]}


def test_reference_filter_is_the_engines(viewer_client, trio, docker_api):
    pattern = f"{trio['repo']}:t*"
    response = _get(viewer_client, reference=pattern)
    assert page_rows(response.context["rows"]) == cli_rows(docker_api, {"reference": pattern})
    assert {r.tag for r in response.context["rows"]} == {"two"}


def test_label_filter_is_the_engines(viewer_client, trio, docker_api):
    response = _get(viewer_client, label="tier=db")
    assert page_rows(response.context["rows"]) == cli_rows(docker_api, {"label": "tier=db"})
    assert trio["small"] in {r.image.id for r in response.context["rows"]}


def test_before_and_since_are_the_engines(viewer_client, images, unique_name, docker_api, run_label):
    value, label = run_label
    repo = unique_name("time")
    images.build(f"{repo}:old", busybox=False, labels={LABEL: value})
    time.sleep(1.1)  # the engine compares creation times in whole seconds
    images.build(f"{repo}:mid", busybox=False, labels={LABEL: value})
    time.sleep(1.1)
    images.build(f"{repo}:new", busybox=False, labels={LABEL: value})
    before = _get(viewer_client, label=label, before=f"{repo}:mid").context["rows"]
    since = _get(viewer_client, label=label, since=f"{repo}:mid").context["rows"]
    assert page_rows(before) == cli_rows(docker_api, {"label": label, "before": f"{repo}:mid"})
    assert page_rows(since) == cli_rows(docker_api, {"label": label, "since": f"{repo}:mid"})
    assert [r.tag for r in before] == ["old"] and [r.tag for r in since] == ["new"]


@pytest.mark.parametrize(
    "params",
    [
        {"reference": "has space"},
        {"reference": "bad[class"},
        {"before": "Not/A Reference!"},
        {"since": "UPPER:case"},
        {"label": "a key=b"},
        {"label": "=value"},
        {"status": "sometimes"},
        {"sort": "colour"},
        {"order": "sideways"},
        {"q": "tab\there"},
    ],
)
def test_malformed_filters_are_a_400_form_error_and_never_reach_the_engine(viewer_client, environment, params):
    viewer_client.get(URL)  # warm the client so only this request is counted
    before = engine.api_request_count()
    response = _get(viewer_client, **params)
    assert response.status_code == 400
    assert engine.api_request_count() == before
    assert "These filters cannot be used" in response.content.decode()


def test_before_an_image_the_engine_lacks_is_a_400_form_error(viewer_client, environment, unique_name):
    missing = unique_name("absent") + ":gone"
    response = _get(viewer_client, before=missing)
    assert response.status_code == 400
    assert f"No image &#x27;{missing}&#x27; on this engine." in response.content.decode()


# --- sort, pages, totals ---------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("size", lambda r: r.image.size),
        ("created", lambda r: r.image.created),
        ("id", lambda r: r.image.id),
        ("repository", lambda r: (r.repository == "<none>", r.repository.lower())),
        ("tag", lambda r: (r.tag == "<none>", r.tag.lower())),
        ("status", lambda r: ({"dangling": 0, "unused": 1, "in_use": 2}[r.status], r.containers)),
    ],
)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sort_by_any_column_both_ways(viewer_client, trio, run_label, start_container, column, key, order):
    start_container(trio["small"])
    rows = _get(viewer_client, label=run_label[1], sort=column, order=order).context["rows"]
    keys = [key(r) for r in rows]
    assert len(keys) == 4
    assert keys == sorted(keys, reverse=order == "desc")


def test_sort_headers_link_to_the_flipped_order_and_keep_filters(viewer_client, trio):
    html = _get(viewer_client, q=trio["repo"], sort="size", order="desc").content.decode()
    assert f"?q={trio['repo']}&amp;sort=size&amp;order=asc" in html
    assert f"?q={trio['repo']}&amp;sort=tag&amp;order=asc" in html


@override_settings(BERTH_PAGE_SIZE=5)
def test_pages_split_the_rows_and_keep_the_query(viewer_client, images, unique_name):
    repo = unique_name("paged")
    base = images.build(f"{repo}:00", busybox=False)
    for index in range(1, 12):
        images.tag(base, f"{repo}:{index:02d}")
    first = _get(viewer_client, q=repo, sort="tag", order="asc")
    third = _get(viewer_client, q=repo, sort="tag", order="asc", page=3)
    beyond = _get(viewer_client, q=repo, sort="tag", order="asc", page=99)
    assert [r.tag for r in first.context["page"].object_list] == ["00", "01", "02", "03", "04"]
    assert [r.tag for r in third.context["page"].object_list] == ["10", "11"]
    assert beyond.context["page"].number == 3
    assert f"?q={repo}&amp;sort=tag&amp;order=asc&amp;page=2" in first.content.decode()
    assert first.context["listing"].totals.tags == 12
    assert first.context["listing"].totals.images == 1


def test_totals_cover_the_filtered_set(viewer_client, trio, start_container, docker_api, run_label):
    start_container(trio["small"])
    totals = _get(viewer_client, label=run_label[1]).context["listing"].totals
    oracle = {i["Id"]: i["Size"] for i in docker_api.images(filters={"label": run_label[1]})}
    assert totals.images == 3
    assert totals.tags == 3
    assert totals.size == sum(oracle.values())
    assert totals.reclaimable == oracle[trio["big"]] + oracle[trio["dangling"]]
    assert (totals.in_use, totals.unused, totals.dangling) == (1, 1, 1)


def test_filtered_list_still_costs_two_engine_calls(viewer_client, trio, run_label):
    viewer_client.get(URL)
    before = engine.api_request_count()
    _get(viewer_client, label=run_label[1], q=trio["repo"], status="unused", sort="size")
    assert engine.api_request_count() - before == 2


# --- links into other areas ------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.integration.support.inventory_urls")
def test_rows_select_into_removal_and_offer_pull_again(operator_client, trio, run_label):
    # Offered to roles that may pull and remove (viewers see neither: tests/integration/test_team_pages.py).
    html = _get(operator_client, label=run_label[1]).content.decode()
    remove_url = reverse("image_remove_confirm", kwargs={"env": "local"})
    pull_url = reverse("pull_create", kwargs={"env": "local"})
    assert f'method="get" action="{remove_url}"' in html
    assert f'name="ref" value="{trio["repo"]}:two"' in html
    assert f'name="ref" value="{trio["dangling"]}"' in html
    assert f'href="{pull_url}?reference={trio["repo"]}%3Atwo"' in html
    assert f"reference={trio['dangling']}" not in html  # nothing to pull for an untagged image


# --- pure helpers -----------------------------------------------------------------


def _image(image_id: str, tags: tuple[str, ...] = (), size: int = 1, age_days: int = 0) -> ImageInfo:
    return ImageInfo(
        id="sha256:" + image_id.ljust(64, "0"),
        repo_tags=tags,
        repo_digests=(),
        created=datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=age_days),
        size=size,
        labels={},
        parent_id="",
    )


def _row(image: ImageInfo, repository: str = "app", tag: str = "1", running: int = 0, stopped: int = 0) -> ImageRow:
    return ImageRow(image, repository, tag, running, stopped)


def test_search_text_matches_parts_of_names_but_only_the_start_of_ids():
    row = _row(_image("abcdef12"), "localhost:5000/team/web", "v1.2")
    assert row_matches_text(row, "team/w")
    assert row_matches_text(row, "WEB:V1")
    assert row_matches_text(row, "abcdef")
    assert row_matches_text(row, "sha256:abcd")
    assert not row_matches_text(row, "cdef12")


def test_sorting_puts_none_last_and_keeps_newest_first_among_ties():
    old = _row(_image("a1", age_days=3), "app", "1")
    new = _row(_image("b2", age_days=1), "app", "1")
    none = _row(_image("c3"), "<none>", "<none>")
    assert sort_rows([none, old, new], "repository", descending=False) == [new, old, none]


def test_summary_counts_each_image_once_whatever_its_tags():
    shared = _image("a1", tags=("a:1", "a:2"), size=100)
    lone = _image("b2", size=7)
    summary = space_summary([shared, shared, lone], {shared.id: 2})
    assert (summary.images, summary.tags, summary.size) == (2, 2, 107)
    assert (summary.in_use_size, summary.dangling_size, summary.reclaimable) == (100, 7, 7)


def test_engine_filters_carry_only_what_was_asked():
    query = ImageListQuery(text="x", status="unused", reference="a*", label="k=v")
    assert query.engine_filters() == {"reference": ["a*"], "label": ["k=v"]}


def test_clicking_the_sorted_column_flips_it_and_a_new_column_starts_sensibly():
    query = ImageListQuery(sort="size", order="desc")
    assert with_sort(query, "size").order == "asc"
    assert with_sort(query, "repository").order == "asc"
    assert with_sort(query, "created").order == "desc"


@pytest.mark.parametrize("value", ["app", "*/app:1.*", "localhost:5000/a/b:v?", "a@sha256:*"])
def test_reference_patterns_the_cli_accepts_pass_the_form(value):
    assert ImageFilterForm({"reference": value}).is_valid()


@pytest.mark.parametrize("value", ["abc123def456", "sha256:" + "a" * 64, "localhost:5000/app:v1", "busybox"])
def test_before_accepts_ids_and_references(value):
    assert ImageFilterForm({"before": value}).is_valid()


def test_running_pulls_show_above_the_list(viewer_client, environment, operator):
    from images_app.models import PullJob

    PullJob.objects.create(environment=environment, reference="localhost:5000/slow:1", requested_by=operator)
    PullJob.objects.create(
        environment=environment, reference="localhost:5000/done:1", requested_by=operator, status="succeeded"
    )
    html = viewer_client.get(URL).content.decode()
    assert "1 pull in progress" in html
    assert "localhost:5000/slow:1" in html and "localhost:5000/done:1" not in html


def test_search_counts_say_how_many_of_the_engines_images_match(viewer_client, trio, docker_api, run_label):
    searched = _get(viewer_client, q=trio["repo"] + ":two")
    total = len(docker_api.images())
    assert f"image matching, of {total}<" in searched.content.decode()
    engine_filtered = _get(viewer_client, label=run_label[1]).content.decode()
    assert "images matching<" in engine_filtered  # the engine filtered: its whole count is unknown here


def test_each_active_filter_can_be_removed_alone(viewer_client, trio, run_label):
    html = _get(viewer_client, label=run_label[1], status="unused", sort="size", page=2).content.decode()
    label_param = run_label[1].replace("=", "%3D")
    assert 'href="?status=unused&amp;sort=size" aria-label="Remove the label= filter"' in html
    assert f'href="?label={label_param}&amp;sort=size" aria-label="Remove the status filter"' in html


def test_pulled_by_digest_image_shows_its_repository_and_counts_as_dangling_like_the_cli(
    viewer_client, images, unique_name, docker_api, registry_host
):
    repo = f"{registry_host}/{unique_name('digest')}"
    built = images.build(f"{repo}:1", busybox=False, labels={"pushed": "yes"})
    for chunk in docker_api.push(repo, tag="1", stream=True, decode=True):
        assert "error" not in chunk, chunk
    digest = docker_api.inspect_image(built)["RepoDigests"][0]
    docker_api.remove_image(built, force=True)
    docker_api.pull(digest)  # no tag: the image comes back with a digest only
    images.created.append(built)
    assert docker_api.inspect_image(digest)["Id"] == built

    (row,) = [r for r in _get(viewer_client, q=built[7:19]).context["rows"]]
    cli = subprocess.run(
        ["docker", "image", "ls", "--no-trunc", "--format", "{{.ID}} {{.Repository}} {{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.splitlines()
    assert f"{built} {row.repository} {row.tag}" in cli
    assert (row.repository, row.tag) == (repo, "<none>")
    engine_dangling = {i["Id"] for i in docker_api.images(filters={"dangling": True})}
    assert (row.status == "dangling") == (built in engine_dangling)
