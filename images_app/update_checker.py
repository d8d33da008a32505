"""Asking registries for the current digests of many tags at once: threads, bounded per registry.

Network only (no database): the service (services/updates.py) decides what to ask and stores
the answers. Each registry gets its own small pool of `BERTH_UPDATE_CHECK_CONCURRENCY`
threads, each thread its own keep-alive session, so one slow registry neither hammers
itself nor holds up the others; a registry found unreachable answers the rest of its tags
at once instead of making each wait out the timeout.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from images_app.errors import RegistryError
from images_app.registry_client import RegistrySession, RegistryTarget, image_created, manifest_head
from images_app.update_state import CheckKey, RemoteAnswer, UnknownReason, reason_for_registry_error

logger = logging.getLogger(__name__)

# A registry that refuses the connection is down for the rest of the run; these reasons say so.
_HOST_DOWN = {UnknownReason.UNREACHABLE}


@dataclass(frozen=True)
class Question:
    """One tag to ask about, with what we already know to keep the asking cheap."""

    key: CheckKey
    previous_digest: str = ""  # the digest stored by the last check
    previous_created: datetime | None = None  # its creation date, if known
    local_digests: frozenset[str] = frozenset()  # every local digest of the key, all environments


TargetFor = Callable[[str], RegistryTarget]


class _Host:
    """One registry during one run: its target, a session per thread, and whether it is down."""

    def __init__(self, host: str, target_for: TargetFor) -> None:
        self.host = host
        self.local = threading.local()
        self.down: tuple[str, str] | None = None  # (reason, message) once the registry is known to be down
        self.target: RegistryTarget | None = None
        try:
            self.target = target_for(host)
        except RegistryError as exc:
            # A stored secret no key opens: every tag of this registry is "credentials refused".
            self.down = (reason_for_registry_error(exc.kind), exc.message[:300])

    def session(self) -> RegistrySession:
        session = getattr(self.local, "session", None)
        if session is None:
            assert self.target is not None
            session = RegistrySession(self.target)
            timeout = settings.BERTH_UPDATE_CHECK_TIMEOUT
            session.timeout = (min(5, timeout), timeout)
            self.local.session = session
        return session

    def ask(self, question: Question) -> RemoteAnswer:
        if self.down is not None:
            return self._failed(question, *self.down)
        key = question.key
        try:
            head = manifest_head(self.session(), key.repository, key.tag)
        except RegistryError as exc:
            reason = reason_for_registry_error(exc.kind)
            if reason in _HOST_DOWN:
                self.down = (reason, exc.message[:300])
            return self._failed(question, reason, exc.message[:300])
        created = question.previous_created if head.digest == question.previous_digest else None
        if created is None and head.digest not in question.local_digests:
            # A new image behind the tag: its date is worth two or three small GETs, once per digest.
            try:
                created = image_created(self.session(), key.repository, head.digest)
            except RegistryError as exc:
                logger.info("No creation date for %s: %s", key.reference, exc.message)
        return RemoteAnswer(digest=head.digest, reason="", created=created, media_type=head.media_type[:100])

    @staticmethod
    def _failed(question: Question, reason: str, message: str) -> RemoteAnswer:
        # The last known digest and date stay stored; the reason makes the state "unknown".
        return RemoteAnswer(
            digest=question.previous_digest, reason=reason, created=question.previous_created, message=message
        )


def ask_registries(questions: list[Question], target_for: TargetFor) -> dict[CheckKey, RemoteAnswer]:
    """The registries' answers for every question; never raises for a registry's failure."""
    by_host: dict[str, list[Question]] = defaultdict(list)
    for question in questions:
        by_host[question.key.registry].append(question)
    per_host = settings.BERTH_UPDATE_CHECK_CONCURRENCY
    answers: dict[CheckKey, RemoteAnswer] = {}
    pools = []
    futures = []
    try:
        for host, host_questions in by_host.items():
            asker = _Host(host, target_for)
            pool = ThreadPoolExecutor(max_workers=min(per_host, len(host_questions)), thread_name_prefix="update-check")
            pools.append(pool)
            futures += [(q.key, pool.submit(asker.ask, q)) for q in host_questions]
        for key, future in futures:
            try:
                answers[key] = future.result()
            except Exception as exc:
                logger.exception("Update check of %s failed", key.reference)
                answers[key] = RemoteAnswer(digest="", reason=UnknownReason.REGISTRY_ERROR, message=str(exc)[:300])
    finally:
        for pool in pools:
            pool.shutdown(wait=True)
    return answers
