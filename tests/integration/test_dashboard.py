"""The environment's dashboard: counts and bytes by category, largest images, pulls, approvals, activity."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from images_app import engine
from images_app.engine import ImageInfo
from images_app.models import CleanupRequest, PullJob
from images_app.selectors.dashboard import space_bar, unique_bytes_of_unused
from images_app.selectors.images import SpaceSummary
from images_app.services.audit import audit_record

URL = "/env/local/"


def _oracle(docker_api) -> dict:
    """Counts and bytes by category, from the SDK: the CLI's `docker image ls` and `docker ps -a`."""
    per_image = Counter(c["ImageID"] for c in docker_api.containers(all=True))
    result = Counter()
    for image in docker_api.images():
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        category = "in_use" if per_image[image["Id"]] else ("unused" if tags else "dangling")
        result["images"] += 1
        result["size"] += image["Size"]
        result[category] += 1
        result[f"{category}_size"] += image["Size"]
    return result


def test_counts_and_sizes_equal_the_engine(viewer_client, images, unique_name, start_container, docker_api):
    repo = unique_name("dash")
    used = images.build(f"{repo}:used", layers=[10_000])
    images.build(f"{repo}:idle", busybox=False)
    images.build(None, busybox=False)
    start_container(used)
    response = viewer_client.get(URL)
    oracle = _oracle(docker_api)
    summary = response.context["dashboard"].summary
    assert response.status_code == 200
    for name in ("images", "size", "in_use", "unused", "dangling", "in_use_size", "unused_size", "dangling_size"):
        assert getattr(summary, name) == oracle[name], name
    assert summary.reclaimable == oracle["unused_size"] + oracle["dangling_size"]


def test_largest_images_come_first(viewer_client, images, unique_name, docker_api):
    repo = unique_name("big")
    biggest = images.build(f"{repo}:huge", layers=[400_000])
    largest = viewer_client.get(URL).context["dashboard"].largest
    sizes = sorted((i["Size"] for i in docker_api.images()), reverse=True)[: len(largest)]
    assert [row.image.size for row in largest] == sizes
    assert biggest in {row.image.id for row in largest}


def test_dashboard_costs_two_engine_calls(viewer_client, environment):
    viewer_client.get(URL)
    before = engine.api_request_count()
    viewer_client.get(URL)
    assert engine.api_request_count() - before == 2


def test_recent_pulls_pending_approvals_and_activity_are_shown(viewer_client, environment, operator):
    PullJob.objects.create(environment=environment, reference="localhost:5000/app:1", requested_by=operator)
    PullJob.objects.create(
        environment=environment, reference="localhost:5000/app:2", requested_by=operator, status="succeeded"
    )
    for _ in range(2):
        CleanupRequest.objects.create(
            environment=environment,
            reason="old",
            requested_by=operator,
            expires_at=timezone.now() + timedelta(hours=1),
        )
    CleanupRequest.objects.create(
        environment=environment,
        reason="done",
        requested_by=operator,
        status="rejected",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    audit_record(
        action="pull_requested",
        outcome="success",
        actor=operator,
        environment=environment,
        target_reference="localhost:5000/app:9",
    )
    response = viewer_client.get(URL)
    dashboard = response.context["dashboard"]
    assert [job.reference for job in dashboard.recent_pulls] == ["localhost:5000/app:2", "localhost:5000/app:1"]
    assert dashboard.active_pulls == 1
    assert dashboard.pending_approvals == 2
    assert [e.target_reference for e in dashboard.recent_events] == ["localhost:5000/app:9"]
    html = response.content.decode()
    assert "localhost:5000/app:9" in html and "pull_requested" in html
    assert re.search(r'id="pending-approvals">.*?<div class="value">2</div>', html, re.S)


def test_space_bar_is_server_drawn_svg_without_inline_script(viewer_client, images, unique_name):
    images.build(unique_name("bar") + ":1")
    html = viewer_client.get(URL).content.decode()
    assert '<svg class="space-bar"' in html
    assert "<script>" not in html and " style=" not in html
    widths = [float(w) for w in re.findall(r'<rect class="seg-\w+" x="[\d.]+" y="0" width="([\d.]+)"', html)]
    assert widths and abs(sum(widths) - 100) < 0.1


def test_space_bar_segments_follow_each_other_and_fill_the_bar():
    summary = SpaceSummary(
        size=1000, in_use=1, in_use_size=500, unused=2, unused_size=300, dangling=1, dangling_size=200
    )
    bar = space_bar(summary)
    assert [(s.category, s.x, s.width) for s in bar] == [
        ("in_use", 0.0, 50.0),
        ("unused", 50.0, 30.0),
        ("dangling", 80.0, 20.0),
    ]


def test_space_bar_of_an_empty_engine_has_no_width():
    assert all(segment.width == 0 for segment in space_bar(SpaceSummary()))


def test_space_bar_rounding_never_overflows():
    summary = SpaceSummary(size=3, in_use=1, in_use_size=1, unused=1, unused_size=1, dangling=1, dangling_size=1)
    bar = space_bar(summary)
    assert bar[-1].x + bar[-1].width <= 100.0


def test_measuring_gives_a_lower_bound_from_system_df(viewer_client, images, unique_name, start_container, docker_api):
    repo = unique_name("measure")
    used = images.build(f"{repo}:used", layers=[10_000])
    images.build(f"{repo}:idle", layers=[7_000])
    start_container(used)
    plain = viewer_client.get(URL).context["dashboard"]
    assert plain.reclaimable_at_least is None
    measured = viewer_client.get(URL, {"measure": "1"})
    df = docker_api.df()["Images"]
    unique_of_unused = sum(i["Size"] - max(i["SharedSize"], 0) for i in df if i["Containers"] == 0)
    dashboard = measured.context["dashboard"]
    assert dashboard.reclaimable_at_least == unique_of_unused
    assert 0 < dashboard.reclaimable_at_least <= dashboard.summary.reclaimable
    assert f'title="{unique_of_unused} bytes"' in measured.content.decode()


def test_lower_bound_counts_unique_bytes_of_images_no_container_uses_once_each():
    def image(name: str) -> ImageInfo:
        return ImageInfo("sha256:" + name * 64, (), (), datetime(2026, 1, 1, tzinfo=UTC), 100, {}, "")

    idle, used = image("a"), image("b")
    per_image = Counter({used.id: 1})
    assert unique_bytes_of_unused([idle, idle, used], per_image, {idle.id: 40, used.id: 70}) == 40
