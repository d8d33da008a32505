"""Django's database sessions, each request's read of its session prepared once (selectors.prepared).

SESSION_ENGINE points here. Everything else is Django's db backend: saving, rotating at login,
deleting at logout, expiry. The read is the same query Django makes (this key, not expired).
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
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
