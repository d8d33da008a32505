"""Benchmarks run by `make bench` (scripts/bench.sh): each module here runs as `python -m bench.<name>`.

Shared helpers for timing and printing, so every benchmark reports latencies the same way.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    def line(self, label: str, unit: str = "ms") -> str:
        scale = 1000 if unit == "ms" else 1
        return (
            f"{label:<28} n={self.count:<6} p50={self.p50 * scale:8.1f}{unit} p95={self.p95 * scale:8.1f}{unit} "
            f"p99={self.p99 * scale:8.1f}{unit} max={self.max * scale:8.1f}{unit}"
        )


def summarize(seconds: Sequence[float]) -> Summary:
    """Latency figures for a list of durations in seconds."""
    if not seconds:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    return Summary(
        count=len(seconds),
        p50=percentile(seconds, 50),
        p95=percentile(seconds, 95),
        p99=percentile(seconds, 99),
        mean=sum(seconds) / len(seconds),
        max=max(seconds),
    )


@contextmanager
def timed() -> Iterator[list[float]]:
    """`with timed() as t: ...` then `t[0]` is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def median_seconds(action: Callable[[], object], runs: int, *, warmup: int = 0) -> float:
    """The median wall time of `runs` calls of `action`, after `warmup` calls not counted."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return median(samples)


def docker_image_ls(docker_host: str, docker_cli: str = "docker") -> None:
    """`docker image ls` against `docker_host`, its output read and dropped: the CLI the lists are compared with."""
    subprocess.run(
        [docker_cli, "image", "ls"],
        env={**os.environ, "DOCKER_HOST": docker_host},
        check=True,
        stdout=subprocess.PIPE,
        timeout=120,
    )


def heading(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 76 - len(title)), flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def env_seconds(name: str, default: float) -> float:
    """A duration from the environment (benchmarks allow shorter runs for quick checks)."""
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def setup_django(workdir: str, docker_host: str) -> None:
    """Django on a throwaway SQLite database in `workdir`, migrated, with `local` naming the engine at docker_host."""
    import uuid

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "BERTH_DATA_DIR": workdir,
            "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
            "BERTH_ENVIRONMENTS": f"local={docker_host}",
            "DJANGO_DEBUG": "0",
            "BERTH_MANIFEST_STATIC": "0",
            "DJANGO_SECRET_KEY": "bench-only-" + uuid.uuid4().hex,
            "BERTH_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("BERTH_TEST_DATABASE", None)
    os.makedirs(os.path.join(workdir, "static"), exist_ok=True)  # STATIC_ROOT, or WhiteNoise warns
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
