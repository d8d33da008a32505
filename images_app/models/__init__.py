from images_app.models.audit import AuditAnchor, AuditEvent
from images_app.models.cleanup import CleanupRequest, RemovalJob
from images_app.models.environments import Environment
from images_app.models.pulls import PullJob
from images_app.models.registries import Registry
from images_app.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditAnchor",
    "AuditEvent",
    "CleanupRequest",
    "Environment",
    "PullJob",
    "Registry",
    "RemovalJob",
]
