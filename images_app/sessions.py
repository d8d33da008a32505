"""Django's database sessions, each request's read of its session prepared once (selectors.prepared).

SESSION_ENGINE points here. Everything else is Django's db backend: saving, rotating at login,
deleting at logout, expiry. The read is the same query Django makes (this key, not expired), and
a stored value's signature is checked once per process (decode).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.core import signing
from django.utils import timezone

from images_app.selectors.prepared import PreparedRows

_LIVE_SESSION = PreparedRows(
    Session, "{session_key} = %s AND {expire_date} > %s", params=("session_key", "expire_date")
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        session = _LIVE_SESSION.first(self.session_key, timezone.now())
        if session is None:
            self._session_key = None  # as Django does: a new session gets a new key
        return session

    def decode(self, session_data: bytes | str) -> dict[str, Any]:
        """Django's decode, with the signature of each stored value checked once per process.

        Every request of a signed-in person decodes the same stored value until the session
        changes: checking its signature again (an HMAC, with the key derived from SECRET_KEY
        each time) was about 2% of a page's CPU. The payload is parsed for each request, so no
        two requests share a dict. A value that fails the check goes through Django's own
        decode, which logs it and gives an empty session.
        """
        try:
            payload = _verified_payload(session_data, self.key_salt)
        except Exception:  # noqa: BLE001  (Django's decode handles, and logs, whatever failed here)
            return super().decode(session_data)
        return self.serializer().loads(payload)


class _Verbatim:
    """A signing serializer that hands back the verified bytes: parsing is left to each request."""

    def loads(self, data: bytes) -> bytes:
        return data


@lru_cache(maxsize=1024)
def _verified_payload(session_data: bytes | str, salt: str) -> bytes:
    """The payload of a stored session value whose signature holds (BadSignature otherwise; failures are not kept)."""
    return signing.loads(session_data, salt=salt, serializer=_Verbatim)  # type: ignore[arg-type]
