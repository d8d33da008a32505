"""bench.audit runs to its verdict on a small history (it failed for a day once kept pages answered its repeats)."""

from __future__ import annotations

import os
import subprocess
import sys

from tooling.processes import REPO_ROOT


def test_bench_audit_times_every_filter_on_a_small_history(tmp_path):
    env = {
        **os.environ,
        "BERTH_BENCH_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "bench-smoke-not-a-secret",
    }
    env.pop("DATABASE_URL", None)  # the module picks its own throwaway database under BERTH_BENCH_DIR
    done = subprocess.run(
        [sys.executable, "-m", "bench.audit", "--events", "400", "--runs", "2"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("filter"))
    # A line per filter combination: its name, the rows the page showed, p50 and p95.
    timed = lines[header + 1 : header + 13]
    assert len(timed) == 12 and not any(line.startswith("all combos") for line in timed), done.stdout
    newest = next(line for line in timed if line.startswith("no filter"))
    assert int(newest.split()[-3]) == 50, done.stdout  # a full first page of the 400 events
    assert any(line.startswith("all combos") and "OK" in line for line in lines), done.stdout
