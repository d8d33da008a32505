"""Throttling per token: at most BERTH_API_RATE_LIMIT requests per BERTH_API_RATE_WINDOW seconds.

Counted in Redis (a fixed window per token), so every web process shares one count; Django's
local-memory cache would give each process its own. Requests with a session are counted per
user. When Redis does not answer, requests are let through (and logged): throttling protects
Berth from a runaway script, it must not turn a Redis outage into an API outage for reads.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from images_app import pull_stream

logger = logging.getLogger(__name__)
# When Redis is down, say so in the log once a minute, not once a request.
_LOG_EVERY_SECONDS = 60.0
_last_warning = [0.0]


def _subject(request: Request) -> str:
    token = getattr(request._request, "berth_api_token", None)
    if token is not None:
        return f"token:{token.pk}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"address:{request.META.get('REMOTE_ADDR', '')}"


class TokenRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        limit, window = settings.BERTH_API_RATE_LIMIT, settings.BERTH_API_RATE_WINDOW
        if limit <= 0:
            return True
        now = time.time()
        slot = int(now // window)
        key = f"berth:{settings.CELERY_TASK_DEFAULT_QUEUE}:api-throttle:{_subject(request)}:{slot}"
        try:
            pipe = pull_stream.redis_client().pipeline()
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count, _ = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            if now - _last_warning[0] >= _LOG_EVERY_SECONDS:
                _last_warning[0] = now
                logger.warning("API throttling skipped, Redis is not answering: %s", exc)
            return True
        if count > limit:
            self._wait = (slot + 1) * window - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
