"""How a removal's results are told to the person who asked: one message per item (messages framework).

Shared by the removal pages and the request pages, which may not import each other (views are independent).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from images_app.services import removal


def report_messages(request: HttpRequest, results: list[dict[str, Any]]) -> None:
    """One message per item with what the engine said (Untagged: ..., Deleted: sha256:...)."""
    for result in results:
        lines = [f"Untagged: {t}" for t in result["untagged"]] + [f"Deleted: {d}" for d in result["deleted"]]
        text = f"{result['reference']}: " + ("; ".join(lines) if lines else result["message"])
        if result["outcome"] in (removal.REMOVED, removal.UNTAGGED):
            messages.success(request, text)
        elif result["outcome"] == removal.GONE:
            messages.info(request, text)
        else:
            messages.error(request, text)
