"""How a removal's results are told to the person who asked: one message per item (messages framework).

Shared by the removal pages and the request pages, which may not import each other (views are independent).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest

from images_app.services import removal


def report_messages(request: HttpRequest, results: list[removal.ItemResult]) -> None:
    """One message per item with what the engine said (Untagged: ..., Deleted: sha256:...)."""
    for result in results:
        text = f"{result.reference}: {result.report_text()}"
        if result.outcome in (removal.Outcome.REMOVED, removal.Outcome.UNTAGGED):
            messages.success(request, text)
        elif result.outcome == removal.Outcome.GONE:
            messages.info(request, text)
        else:
            messages.error(request, text)
