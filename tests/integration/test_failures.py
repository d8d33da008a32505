"""Failing parts, for real: stop the process, then use Berth; then bring it back."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.test import override_settings

from images_app.engine.client import forget_clients
from images_app.environments import sync_environments
from tests.integration.conftest import PASSWORD, start_web_server


def test_engine_stopped_while_browsing_gives_503_then_recovers_without_restart(viewer_client, private_engine):
    with override_settings(BERTH_ENVIRONMENTS=f"local={private_engine.host}"):
        sync_environments()
        forget_clients()
        assert viewer_client.get("/env/local/images/").status_code == 200

        private_engine.stop()
        down = viewer_client.get("/env/local/images/")
        assert down.status_code == 503
        assert private_engine.host in down.content.decode()

        private_engine.start()
        assert viewer_client.get("/env/local/images/").status_code == 200
    forget_clients()


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_gives_a_clear_503_not_a_500(viewer, process_dir: Path):
    if connection.vendor != "sqlite":
        pytest.skip("holds SQLite's file lock; PostgreSQL locks rows, not the database")
    proc, url = start_web_server(process_dir, {"BERTH_DB_TIMEOUT": "1"})
    try:
        session = requests.Session()
        session.get(url + "/login/", timeout=10)
        locker = sqlite3.connect(os.environ["BERTH_TEST_DATABASE"], timeout=1, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # hold the write lock like a long writer would
        try:
            response = session.post(
                url + "/login/",
                data={"username": "vera", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                timeout=30,
                allow_redirects=False,
            )
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert response.status_code == 503
        assert "database is busy" in response.text
        # Once the lock is gone the same server works again.
        again = session.post(
            url + "/login/",
            data={"username": "vera", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            timeout=30,
            allow_redirects=False,
        )
        assert again.status_code == 302
    finally:
        proc.stop()
