from images_app.models.audit import AuditAction, AuditAnchor, AuditEvent
from images_app.models.cleanup import CleanupRequest, RemovalJob
from images_app.models.environments import Environment
from images_app.models.inventory import Inventory
from images_app.models.notifications import (
    Delivery,
    Notification,
    NotificationChannel,
    NotificationEvent,
    NotificationPreference,
)
from images_app.models.policies import RetentionPolicy
from images_app.models.pulls import PullJob
from images_app.models.registries import Registry
from images_app.models.tokens import ApiToken
from images_app.models.updates import UpdateCheck, UpdateRun
from images_app.models.usage import ImageUsage, ImageUse, WatchState

__all__ = [
    "ApiToken",
    "AuditAction",
    "AuditAnchor",
    "AuditEvent",
    "CleanupRequest",
    "Delivery",
    "Environment",
    "ImageUsage",
    "ImageUse",
    "Inventory",
    "Notification",
    "NotificationChannel",
    "NotificationEvent",
    "NotificationPreference",
    "PullJob",
    "Registry",
    "RemovalJob",
    "RetentionPolicy",
    "UpdateCheck",
    "UpdateRun",
    "WatchState",
]
