"""Production mode: deploy checks, headers, templates without inline script, login lockout,
sessions, password rules, static files through uvicorn, read-only mode, redirects and CSRF."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import Resolver404, get_resolver, resolve
from django.urls.converters import IntConverter, UUIDConverter
from django.utils import timezone

from images_app.models import AuditEvent
from tests.integration.conftest import PASSWORD, REPO_ROOT, ManagedProcess, _child_env, _wait_until, free_port

TEMPLATES_DIR = REPO_ROOT / "templates"


# --- manage.py check --deploy ------------------------------------------------------


def _production_env(**extra: str) -> dict[str, str]:
    """A clean environment as an operator would set it for an HTTPS deployment."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "berth.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://berth.example.com",
        "BERTH_HTTPS": "1",
        "BERTH_DATA_DIR": os.environ.get("BERTH_DATA_DIR", "/tmp/berth-check"),
    }
    env.update(extra)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_reports_nothing_in_production_mode():
    result = _check_deploy(_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_complains_when_served_without_https():
    # The same check fails loudly when HTTPS is off: the test above can fail.
    result = _check_deploy(_production_env(BERTH_HTTPS="0"))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "security.W012" in output  # session cookie not secure
    assert "security.W004" in output  # no HSTS


def test_production_settings_refuse_a_missing_secret_key_when_asked_to():
    env = _production_env(BERTH_ALLOW_GENERATED_SECRET="0")
    del env["DJANGO_SECRET_KEY"]
    result = _check_deploy(env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


# --- headers -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login/", "/env/local/", "/env/local/images/", "/env/nowhere/images/"])
def test_security_headers_on_every_kind_of_page(viewer_client, environment, path):
    response = viewer_client.get(path)
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_security_headers_on_the_anonymous_login_page(client, db):
    response = client.get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


# --- templates: no inline script ---------------------------------------------------

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
_JS_URL = re.compile(r"javascript\s*:", re.IGNORECASE)


def inline_script_problems(text: str) -> list[str]:
    """What in an HTML template would need 'unsafe-inline' (or is a script URL)."""
    problems = []
    for match in _SCRIPT.finditer(text):
        if match.group(2).strip():
            problems.append("inline <script> body")
        if "src=" not in match.group(1).lower():
            problems.append("<script> without src")
    if _HANDLER.search(text):
        problems.append("on*= event handler attribute")
    if _JS_URL.search(text):
        problems.append("javascript: URL")
    return problems


@pytest.mark.parametrize(
    "sample",
    [
        "<script>alert(1)</script>",
        '<script type="module">\nimport x from "y"\n</script>',
        '<button onclick="go()">x</button>',
        "<a href='#'\n  onMouseOver=\"x()\">y</a>",
        '<a href="JavaScript:alert(1)">y</a>',
    ],
)
def test_the_template_scanner_catches_inline_script(sample):
    assert inline_script_problems(sample)


def test_the_template_scanner_accepts_external_scripts_and_plain_words():
    text = "<script src=\"{% static 'js/x.js' %}\" defer></script><p>online, one=1</p>"
    assert inline_script_problems(text) == []


def test_no_template_has_inline_script_handlers_or_script_urls():
    templates = sorted(TEMPLATES_DIR.rglob("*.html"))
    assert templates, "no templates found"
    found = {str(path.relative_to(REPO_ROOT)): inline_script_problems(path.read_text()) for path in templates}
    assert {name: problems for name, problems in found.items() if problems} == {}


# --- login throttling --------------------------------------------------------------


def _fail_login(client: Client, username: str) -> object:
    return client.post("/login/", {"username": username, "password": "not-the-password"})


def test_login_locks_after_the_failure_limit_with_a_clear_429_page(client, viewer):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert _fail_login(client, "vera").status_code == 200  # the form again, with an error

    locked = _fail_login(client, "vera")

    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Too many failed logins" in body
    assert f"After {limit} failed attempts" in body


def test_a_locked_out_user_cannot_log_in_even_with_the_right_password(client, viewer):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _fail_login(client, "vera")

    response = client.post("/login/", {"username": "vera", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_below_the_limit_do_not_lock(client, viewer):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _fail_login(client, "vera")
    response = client.post("/login/", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302


def test_a_lockout_is_audited(client, viewer):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _fail_login(client, "vera")

    event = AuditEvent.objects.get(action="login_locked_out")

    assert event.outcome == "denied"
    assert event.parameters == {"username": "vera"}
    assert event.client_address == "127.0.0.1"
    assert event.actor is None


# --- sessions and passwords --------------------------------------------------------


def test_a_session_lasts_the_configured_age_and_ends_with_the_browser(client, viewer):
    client.post("/login/", {"username": "vera", "password": PASSWORD})
    session = Session.objects.get()
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((session.expire_date - expected).total_seconds()) < 60
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["expires"] and not cookie["max-age"]  # a browser-session cookie
    assert cookie["httponly"]


def test_an_expired_session_sends_the_user_back_to_login(client, viewer, environment):
    client.post("/login/", {"username": "vera", "password": PASSWORD})
    assert client.get("/env/local/images/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/env/local/images/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    "password, complaint",
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("8461937205", "entirely numeric"),
        ("firstadmin1", "too similar"),
    ],
)
def test_the_setup_page_applies_the_password_validators(client, db, password, complaint):
    response = client.post("/setup/", {"username": "firstadmin", "password1": password, "password2": password})
    assert response.status_code == 200
    assert complaint in response.content.decode()
    assert not get_user_model().objects.exists()


# --- static files through uvicorn in production mode --------------------------------


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def production_server(django_db_setup, tmp_path_factory):
    """uvicorn with DEBUG off, HTTPS on behind a proxy, and collected, hashed static files."""
    tmp = tmp_path_factory.mktemp("production")
    extra = {
        "DJANGO_DEBUG": "0",
        "BERTH_MANIFEST_STATIC": "1",
        "BERTH_DATA_DIR": str(tmp / "data"),
        "BERTH_HTTPS": "1",
        "BERTH_BEHIND_PROXY": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=REPO_ROOT,
        env={**os.environ, **extra},
        check=True,
        timeout=120,
    )
    port = free_port()
    proc = ManagedProcess(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        _child_env(extra),
        tmp / "uvicorn.log",
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return requests.get(url + "/login/", headers=HTTPS, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        _wait_until(ready, 60, "production web server", proc)
        yield url, tmp / "data" / "static"
    finally:
        proc.stop()


def test_the_web_server_warms_berth_up_before_its_first_request(production_server):
    # The lifespan start (config/asgi.py warm_up): unsupported, uvicorn would go on without it, silently.
    _, static_root = production_server
    log = (static_root.parent.parent / "uvicorn.log").read_text()
    assert "Application startup complete." in log
    assert "unsupported" not in log


def test_static_css_is_served_hashed_compressed_and_cached_forever(production_server):
    url, static_root = production_server
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/berth.css"]
    assert hashed != "css/berth.css"

    page = requests.get(url + "/login/", headers=HTTPS, timeout=10)
    assert f"/static/{hashed}" in page.text

    response = requests.get(f"{url}/static/{hashed}", headers={**HTTPS, "Accept-Encoding": "gzip"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    cache = response.headers["Cache-Control"]
    assert "immutable" in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_favicon(production_server):
    url, static_root = production_server
    hashed = json.loads((static_root / "staticfiles.json").read_text())["paths"]["img/favicon.svg"]
    page = requests.get(url + "/login/", headers=HTTPS, timeout=10)
    assert f'<link rel="icon" href="/static/{hashed}" type="image/svg+xml">' in page.text

    response = requests.get(f"{url}/static/{hashed}", headers=HTTPS, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")


def test_plain_http_is_redirected_to_https(production_server):
    url, _ = production_server
    response = requests.get(url + "/login/", allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://")


def test_https_pages_send_hsts_and_secure_cookies(production_server):
    url, _ = production_server
    response = requests.get(url + "/login/", headers=HTTPS, timeout=10)
    assert response.status_code == 200
    hsts = response.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    csrf_cookie = next(c for c in response.cookies if c.name == "csrftoken")
    assert csrf_cookie.secure


# --- read-only mode ----------------------------------------------------------------

_READ_ONLY_ALLOWED = {"login", "logout", "setup"}


def _sample_value(name: str, converter: object) -> str:
    if isinstance(converter, IntConverter):
        return "1"
    if isinstance(converter, UUIDConverter):
        return "00000000-0000-0000-0000-000000000001"
    return "local" if name == "env" else "x1"


def every_postable_path() -> dict[str, str]:
    """One concrete path per named URL of the whole site (every area, admin included)."""
    paths: dict[str, str] = {}
    resolver = get_resolver()

    def walk(resolver, prefix: str = "", namespace: str = "") -> None:
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern, prefix + str(pattern.pattern), inner)
            elif pattern.name:
                route = prefix + str(pattern.pattern)
                converters = {**getattr(resolver.pattern, "converters", {}), **pattern.pattern.converters}
                for param in re.findall(r"<(?:\w+:)?(\w+)>", route):
                    route = re.sub(rf"<(?:\w+:)?{param}>", _sample_value(param, converters.get(param)), route)
                if "^" in route or "(" in route or "$" in route:
                    continue  # regex patterns (a few admin ones): not worth faking
                paths[namespace + pattern.name] = "/" + route

    walk(resolver)
    return paths


def test_read_only_mode_refuses_every_post_with_a_clear_403(admin_client, environment):
    refused = 0
    with override_settings(BERTH_READ_ONLY=True):
        for name, path in every_postable_path().items():
            try:
                url_name = resolve(path).url_name
            except Resolver404:
                continue
            if url_name in _READ_ONLY_ALLOWED:
                continue
            response = admin_client.post(path, {"reference": "busybox:latest", "force": "on"})
            assert response.status_code == 403, f"{name} {path} answered {response.status_code}"
            assert "read-only mode" in response.content.decode(), name
            refused += 1
    assert refused >= 10  # the admin alone has many; proves the walk found the site
    assert not AuditEvent.objects.exclude(action="login").exists()


def test_read_only_mode_still_serves_pages_with_a_banner(viewer_client, environment):
    with override_settings(BERTH_READ_ONLY=True):
        response = viewer_client.get("/env/local/images/")
    assert response.status_code == 200
    assert "Read-only mode" in response.content.decode()


def test_read_only_mode_still_lets_people_log_in_and_out(client, viewer, environment):
    with override_settings(BERTH_READ_ONLY=True):
        assert client.post("/login/", {"username": "vera", "password": PASSWORD}).status_code == 302
        assert client.get("/env/local/images/").status_code == 200
        assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_read_only_mode_refuses_creating_users_in_the_admin(admin_client, environment):
    with override_settings(BERTH_READ_ONLY=True):
        response = admin_client.post(
            "/admin/auth/user/add/",
            {"username": "sneaky", "password1": "x-Long-pass-123", "password2": "x-Long-pass-123"},
        )
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="sneaky").exists()


# --- redirects and CSRF ------------------------------------------------------------


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://evil.example@testserver/x",
        "/\\evil.example/",
        "https:evil.example",
        "\\\\evil.example",
    ],
)
def test_login_never_redirects_off_site(client, viewer, next_url):
    response = client.post("/login/", {"username": "vera", "password": PASSWORD, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_follows_a_local_next(client, viewer):
    response = client.post("/login/", {"username": "vera", "password": PASSWORD, "next": "/env/local/images/"})
    assert response["Location"] == "/env/local/images/"


def test_login_without_a_csrf_token_is_refused(viewer):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_with_the_csrf_token_works(viewer):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    response = client.post("/login/", {"username": "vera", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_a_logged_in_post_without_a_csrf_token_is_refused(viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post("/logout/")
    assert response.status_code == 403
    assert client.get("/login/").status_code == 302  # still logged in: redirected away from the login page


def test_the_setup_page_needs_a_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/setup/",
        {"username": "first", "password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase"},
    )
    assert response.status_code == 403
    assert not get_user_model().objects.exists()


# --- documentation -----------------------------------------------------------------


def test_readme_documents_every_setting_read_from_the_environment():
    settings_source = (REPO_ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r"\benv(?:_bool|_int|_list)?\(\s*\"([A-Z][A-Z0-9_]+)\"", settings_source))
    assert len(names) > 20  # the pattern found the settings
    readme = (REPO_ROOT / "README.md").read_text()
    assert sorted(name for name in names if f"`{name}`" not in readme) == []


_PROXY = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_a_forged_forwarded_address_does_not_escape_the_lockout(client, viewer, behind_proxy):
    # The attacker writes a new address into X-Forwarded-For for each try; a proxy (if any) appends the real one.
    with override_settings(SECURE_PROXY_SSL_HEADER=_PROXY if behind_proxy else None):
        responses = []
        for attempt in range(settings.AXES_FAILURE_LIMIT + 1):
            forwarded = f"198.51.100.{attempt + 1}" + (", 203.0.113.7" if behind_proxy else "")
            responses.append(
                client.post(
                    "/login/",
                    {"username": "vera", "password": "not-the-password"},
                    HTTP_X_FORWARDED_FOR=forwarded,
                    HTTP_X_FORWARDED_PROTO="https",
                )
            )
    assert responses[-1].status_code == 429


def test_behind_a_proxy_different_real_addresses_are_throttled_apart(client, viewer):
    with override_settings(SECURE_PROXY_SSL_HEADER=_PROXY):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post(
                "/login/",
                {"username": "vera", "password": "not-the-password"},
                HTTP_X_FORWARDED_FOR="203.0.113.7",
                HTTP_X_FORWARDED_PROTO="https",
            )
        # Vera herself, from her own address behind the same proxy, is not locked out by the attacker.
        response = client.post(
            "/login/",
            {"username": "vera", "password": PASSWORD},
            HTTP_X_FORWARDED_FOR="192.0.2.10",
            HTTP_X_FORWARDED_PROTO="https",
        )
    assert response.status_code == 302
