"""Coroutines run from a test's synchronous code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_own_loop(make_coroutine: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60) -> T:
    """Run a coroutine on a thread and loop of its own: the test's thread may hold a running loop (Playwright's)."""
    with ThreadPoolExecutor(max_workers=1) as runner:
        return runner.submit(lambda: asyncio.run(make_coroutine())).result(timeout)
