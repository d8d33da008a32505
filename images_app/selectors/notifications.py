"""What the notification pages show: recent deliveries and the ones that keep failing."""

from __future__ import annotations

from django.db.models import QuerySet

from images_app.models import Delivery

RECENT_DELIVERIES = 50


def deliveries_recent() -> list[Delivery]:
    return list(Delivery.objects.select_related("notification", "channel")[:RECENT_DELIVERIES])


def failing_deliveries() -> QuerySet[Delivery]:
    """Deliveries that gave up, or are still retrying after a failure (newest first)."""
    failing = Delivery.objects.filter(status=Delivery.Status.FAILED) | Delivery.objects.filter(
        status=Delivery.Status.PENDING, attempts__gt=0
    )
    return failing.select_related("notification", "channel").order_by("-created_at")[:RECENT_DELIVERIES]
