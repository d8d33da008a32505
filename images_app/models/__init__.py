from images_app.models.audit import AuditAnchor, AuditEvent
from images_app.models.cleanup import CleanupRequest, RemovalJob
from images_app.models.environments import Environment
from images_app.models.notifications import (
    Delivery,
    Notification,
    NotificationChannel,
    NotificationEvent,
    NotificationPreference,
)
from images_app.models.pulls import PullJob
from images_app.models.registries import Registry
from images_app.models.updates import UpdateCheck, UpdateRun

__all__ = [
    "AuditAnchor",
    "AuditEvent",
    "CleanupRequest",
    "Delivery",
    "Environment",
    "Notification",
    "NotificationChannel",
    "NotificationEvent",
    "NotificationPreference",
    "PullJob",
    "Registry",
    "RemovalJob",
    "UpdateCheck",
    "UpdateRun",
]
