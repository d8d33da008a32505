from images_app.models.audit import AuditAction, AuditAnchor, AuditEvent
from images_app.models.cleanup import CleanupRequest, RemovalJob
from images_app.models.environments import Environment
from images_app.models.inventory import Inventory
from images_app.models.policies import RetentionPolicy
from images_app.models.pulls import PullJob
from images_app.models.registries import Registry
from images_app.models.usage import ImageUsage, ImageUse, WatchState

__all__ = [
    "AuditAction",
    "AuditAnchor",
    "AuditEvent",
    "CleanupRequest",
    "Environment",
    "ImageUsage",
    "Inventory",
    "ImageUse",
    "PullJob",
    "Registry",
    "RemovalJob",
    "RetentionPolicy",
    "WatchState",
]
