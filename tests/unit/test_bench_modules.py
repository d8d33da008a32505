"""Every benchmark module `make bench` runs imports: a name moved or renamed elsewhere fails here, not mid-bench.

bench.api imported a helper that a refactor had moved into the bench package, and `make bench` failed
on it for a day (the benchmarks run outside `make test`). Importing runs no benchmark: each module
starts its work under `if __name__ == "__main__"`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = sorted(path.stem for path in BENCH.glob("*.py") if path.stem != "__init__")


def test_the_bench_folder_has_modules():
    assert "load" in MODULES and "api" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_bench_module_imports(name):
    module = importlib.import_module(f"bench.{name}")
    assert callable(getattr(module, "main", None)), f"bench.{name} has no main()"
