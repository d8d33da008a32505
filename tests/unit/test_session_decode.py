"""Stored sessions decode as Django decodes them, their signature checked once per process (images_app.sessions)."""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore

from images_app.sessions import SessionStore, _verified_payload


def test_a_stored_session_reads_as_django_reads_it():
    data = {"_auth_user_id": "7", "_auth_user_backend": "images_app.roles.RoleBackend", "list": [1, 2]}
    stored = DjangoSessionStore().encode(data)
    assert SessionStore().decode(stored) == DjangoSessionStore().decode(stored) == data
    hits = _verified_payload.cache_info().hits
    assert SessionStore().decode(stored) == data  # from the process's checked values this time
    assert _verified_payload.cache_info().hits == hits + 1


def test_each_request_gets_its_own_session_dict():
    stored = SessionStore().encode({"list": [1]})
    first = SessionStore().decode(stored)
    first["list"].append(2)
    first["new"] = True
    assert SessionStore().decode(stored) == {"list": [1]}


def test_a_tampered_session_is_empty_logged_and_not_kept(caplog):
    stored = SessionStore().encode({"_auth_user_id": "7"})
    payload, _, signature = stored.rpartition(":")
    forged = payload + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]
    before = _verified_payload.cache_info().currsize
    with caplog.at_level(logging.WARNING, logger="django.security.SuspiciousSession"):
        assert SessionStore().decode(forged) == {}
    assert "Session data corrupted" in caplog.text
    assert _verified_payload.cache_info().currsize == before
