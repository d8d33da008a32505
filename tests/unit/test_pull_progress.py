"""The progress parser, on event sequences recorded from engines (classic store and containerd's)."""

from __future__ import annotations

from images_app.pull_progress import PullProgress

# Recorded from Engine 20.10 (classic image store) pulling a 3-layer image from a loopback registry;
# the deprecated `progress` text is kept to show it is not what the numbers come from.
CLASSIC = [
    {"status": "Pulling from cap", "id": "one"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "b341e62c2caa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "f77f40236e20"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "4666b975d124"},
    {"status": "Waiting", "progressDetail": {}, "id": "4666b975d124"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 32768, "total": 1064338},
        "progress": "[=>      ]  32.77kB/1.064MB",
        "id": "b341e62c2caa",
    },
    {
        "status": "Downloading",
        "progressDetail": {"current": 36445, "total": 3001122},
        "progress": "[>       ]  36.45kB/3.001MB",
        "id": "f77f40236e20",
    },
    {"status": "Downloading", "progressDetail": {"current": 1064338, "total": 1064338}, "id": "b341e62c2caa"},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "b341e62c2caa"},
    {"status": "Download complete", "progressDetail": {}, "id": "b341e62c2caa"},
    {"status": "Extracting", "progressDetail": {"current": 32768, "total": 1064338}, "id": "b341e62c2caa"},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "4666b975d124"},
    {"status": "Download complete", "progressDetail": {}, "id": "4666b975d124"},
    {"status": "Extracting", "progressDetail": {"current": 1064338, "total": 1064338}, "id": "b341e62c2caa"},
    {"status": "Pull complete", "progressDetail": {}, "id": "b341e62c2caa"},
    {"status": "Downloading", "progressDetail": {"current": 3001122, "total": 3001122}, "id": "f77f40236e20"},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "f77f40236e20"},
    {"status": "Download complete", "progressDetail": {}, "id": "f77f40236e20"},
    {"status": "Extracting", "progressDetail": {"current": 3001122, "total": 3001122}, "id": "f77f40236e20"},
    {"status": "Pull complete", "progressDetail": {}, "id": "f77f40236e20"},
    {"status": "Extracting", "progressDetail": {"current": 316, "total": 316}, "id": "4666b975d124"},
    {"status": "Pull complete", "progressDetail": {}, "id": "4666b975d124"},
    {"status": "Digest: sha256:c9a3c4fb875a349ebb6e055e3b5d726e52d6121bd0ed0fe472aa78b66de85c7d"},
    {"status": "Status: Downloaded newer image for localhost:5063/cap:one"},
]

# The containerd image store (Engine 29 default): no Verifying Checksum, `hidecounts`,
# Extracting counted in seconds without a total, and no `progress` text at all.
CONTAINERD = [
    {"status": "Pulling from app", "id": "v1"},
    {"status": "Already exists", "progressDetail": {"hidecounts": True}, "id": "aaaaaaaaaaaa"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbbbbbbbbbbb"},
    {"status": "Downloading", "progressDetail": {"current": 5_000_000, "total": 20_000_000}, "id": "bbbbbbbbbbbb"},
    {"status": "Downloading", "progressDetail": {"current": 20_000_000, "total": 20_000_000}, "id": "bbbbbbbbbbbb"},
    {"status": "Download complete", "progressDetail": {"hidecounts": True}, "id": "bbbbbbbbbbbb"},
    {"status": "Extracting", "progressDetail": {"current": 1, "units": "s"}, "id": "bbbbbbbbbbbb"},
    {"status": "Extracting", "progressDetail": {"current": 2, "units": "s"}, "id": "bbbbbbbbbbbb"},
    {"status": "Pull complete", "progressDetail": {"hidecounts": True}, "id": "bbbbbbbbbbbb"},
    {"status": "Digest: sha256:" + "d" * 64},
    {"status": "Status: Downloaded newer image for localhost:5000/app:v1"},
]


def feed(events: list[dict], upto: int | None = None) -> PullProgress:
    progress = PullProgress()
    for event in events[:upto]:
        progress.apply(event)
    return progress


def layer(progress: PullProgress, layer_id: str) -> dict:
    return next(item for item in progress.snapshot().to_json()["layers"] if item["id"] == layer_id)


def test_pulling_from_line_is_not_a_layer():
    progress = feed(CLASSIC, 1)
    assert progress.snapshot().to_json()["layers"] == []
    assert progress.message == "Pulling from cap"


def test_layers_start_waiting_in_the_order_the_engine_announces_them():
    progress = feed(CLASSIC, 5)
    layers = progress.snapshot().to_json()["layers"]
    assert [item["id"] for item in layers] == ["b341e62c2caa", "f77f40236e20", "4666b975d124"]
    assert {item["state"] for item in layers} == {"waiting"}
    assert {item["percent"] for item in layers} == {0}


def test_downloading_layer_shows_bytes_of_total_from_progress_detail():
    progress = feed(CLASSIC, 7)
    item = layer(progress, "f77f40236e20")
    assert item["state"] == "downloading"
    assert (item["current"], item["total"]) == (36445, 3001122)
    assert item["percent"] == 1
    assert item["text"] == "Downloading 36.4kB of 3MB"


def test_overall_counts_bytes_over_the_layers_sizes_known_so_far():
    progress = feed(CLASSIC, 7)
    overall = progress.overall().to_json()
    assert overall["bytes_total"] == 1064338 + 3001122
    assert overall["bytes_done"] == 32768 + 36445
    assert overall["percent"] == 0  # 1.7 % downloaded weighs half: 0.85 % rounds down


def test_verified_layer_counts_as_fully_downloaded():
    progress = feed(CLASSIC, 9)
    item = layer(progress, "b341e62c2caa")
    assert item["state"] == "verifying"
    assert item["current"] == item["total"] == 1064338
    assert item["percent"] == 100


def test_extracting_layer_shows_extraction_progress():
    progress = feed(CLASSIC, 11)
    item = layer(progress, "b341e62c2caa")
    assert item["state"] == "extracting"
    assert item["percent"] == 3
    assert item["text"] == "Extracting 32.8kB of 1.06MB"


def test_complete_pull_reaches_100_with_digest_and_status_line():
    progress = feed(CLASSIC)
    snapshot = progress.snapshot().to_json()
    assert {item["state"] for item in snapshot["layers"]} == {"complete"}
    assert {item["percent"] for item in snapshot["layers"]} == {100}
    assert snapshot["overall"]["percent"] == 100
    assert snapshot["overall"]["bytes_done"] == snapshot["overall"]["bytes_total"] == 1064338 + 3001122 + 316
    assert snapshot["digest"] == "sha256:c9a3c4fb875a349ebb6e055e3b5d726e52d6121bd0ed0fe472aa78b66de85c7d"
    assert snapshot["status_line"] == "Downloaded newer image for localhost:5063/cap:one"
    assert not progress.status_line.startswith("Image is up to date")


def test_overall_stays_below_100_until_the_engine_says_it_is_done():
    progress = feed(CLASSIC, len(CLASSIC) - 2)
    assert progress.overall().percent == 99


def test_up_to_date_pull_has_no_layers_and_says_so():
    progress = feed(
        [
            {"status": "Pulling from cap", "id": "one"},
            {"status": "Digest: sha256:" + "c" * 64},
            {"status": "Status: Image is up to date for localhost:5063/cap:one"},
        ]
    )
    assert progress.status_line == "Image is up to date for localhost:5063/cap:one"
    assert progress.snapshot().to_json()["layers"] == []
    assert progress.overall().percent == 100


def test_containerd_already_exists_with_hidecounts_is_done_and_not_downloaded():
    progress = feed(CONTAINERD, 2)
    item = layer(progress, "aaaaaaaaaaaa")
    assert item["state"] == "exists"
    assert item["percent"] == 100
    assert item["text"] == "Already exists"
    assert progress.overall().bytes_total == 0


def test_containerd_download_complete_with_hidecounts_keeps_the_size():
    progress = feed(CONTAINERD, 6)
    item = layer(progress, "bbbbbbbbbbbb")
    assert item["state"] == "downloaded"
    assert item["current"] == item["total"] == 20_000_000


def test_containerd_extracting_in_seconds_has_no_fraction():
    progress = feed(CONTAINERD, 8)
    item = layer(progress, "bbbbbbbbbbbb")
    assert item["state"] == "extracting"
    assert item["text"] == "Extracting (2 s)"
    assert item["total"] == 20_000_000  # seconds are never mistaken for bytes
    assert item["percent"] == 100  # the download is whole; the extraction cannot be measured
    assert progress.overall().percent == 50


def test_containerd_pull_completes():
    snapshot = feed(CONTAINERD).snapshot().to_json()
    assert [item["state"] for item in snapshot["layers"]] == ["exists", "complete"]
    assert snapshot["overall"] == {"bytes_done": 20_000_000, "bytes_total": 20_000_000, "percent": 100}


def test_retrying_layer_and_unknown_statuses_do_not_break_progress():
    progress = feed(
        [
            {"status": "Pulling fs layer", "progressDetail": {}, "id": "eeeeeeeeeeee"},
            {"status": "Retrying in 5 seconds", "progressDetail": {}, "id": "eeeeeeeeeeee"},
            {"status": "Something new in Engine 30", "progressDetail": "odd", "id": "eeeeeeeeeeee"},
            {"status": "Downloading", "progressDetail": {"current": True, "total": "x"}, "id": "eeeeeeeeeeee"},
        ]
    )
    item = layer(progress, "eeeeeeeeeeee")
    assert item["state"] == "downloading"
    assert item["current"] == 0
    assert progress.message == "Something new in Engine 30"


def _retrying(progress: PullProgress, seconds: int = 5) -> None:
    progress.apply({"status": f"Retrying in {seconds} seconds", "id": "aaa", "progressDetail": {}})


def test_a_pull_that_only_retries_past_the_limit_is_stalled():
    from images_app.pull_progress import StallWatch

    progress, watch = PullProgress(), StallWatch(10)
    progress.apply({"status": "Downloading", "id": "aaa", "progressDetail": {"current": 100, "total": 1000}})
    assert watch.stalled_for(progress, 0) is None
    _retrying(progress)
    assert watch.stalled_for(progress, 1) is None
    _retrying(progress, 4)
    assert watch.stalled_for(progress, 9) is None
    assert watch.stalled_for(progress, 11.5) == 10.5


def test_bytes_arriving_between_retries_restart_the_stall_clock():
    from images_app.pull_progress import StallWatch

    progress, watch = PullProgress(), StallWatch(10)
    _retrying(progress)
    assert watch.stalled_for(progress, 0) is None
    progress.apply({"status": "Downloading", "id": "aaa", "progressDetail": {"current": 500, "total": 1000}})
    assert watch.stalled_for(progress, 8) is None
    _retrying(progress)
    assert watch.stalled_for(progress, 12) is None  # retrying again, but only since 12
    assert watch.stalled_for(progress, 21) is None
    assert watch.stalled_for(progress, 22) == 10
