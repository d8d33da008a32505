from images_app.models.audit import AuditAction, AuditAnchor, AuditEvent
from images_app.models.cleanup import CleanupRequest, RemovalJob
from images_app.models.environments import Environment
from images_app.models.pulls import PullJob
from images_app.models.registries import Registry

__all__ = [
    "AuditAction",
    "AuditAnchor",
    "AuditEvent",
    "CleanupRequest",
    "Environment",
    "PullJob",
    "Registry",
    "RemovalJob",
]
