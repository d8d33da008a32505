from images_app.models.audit import AuditAnchor, AuditEvent
from images_app.models.cleanup import CleanupRequest, RemovalJob
from images_app.models.environments import Environment
from images_app.models.inventory import Inventory
from images_app.models.pulls import PullJob
from images_app.models.registries import Registry

__all__ = [
    "AuditAnchor",
    "AuditEvent",
    "CleanupRequest",
    "Environment",
    "Inventory",
    "PullJob",
    "Registry",
    "RemovalJob",
]
