"""Helpers for the API tests: tokens and sessions that send them."""

from __future__ import annotations

import requests

from images_app.services.tokens import token_create


def token_for(user: object, name: str = "tests", **kwargs: object) -> str:
    """A new API token of `user` (the text a script would hold)."""
    _, raw = token_create(user=user, name=name, **kwargs)
    return raw


def api_client(token: str | None) -> requests.Session:
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    session.headers["Accept"] = "application/json"
    return session
