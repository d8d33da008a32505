"""Load run (issue 9): many logged-in users browse while SSE clients watch pulls, on loopback.

    python -m bench.load        (make bench runs it with private services started)

Starts a real uvicorn and Celery worker on a fresh SQLite database, builds demo images in the
engine at DOCKER_HOST, then for BERTH_LOAD_SECONDS (default 60) runs BERTH_LOAD_USERS (50)
browsing threads (list, image and history pages; a page the branch lacks is skipped) and
BERTH_LOAD_SSE_CLIENTS (50) server-sent-event clients following pulls, if pulls stream.
Prints requests/s, p50/p95/p99 latency, errors, and the list page's p95 under load against its
idle median: the median of a lone user's list pages, a pause between them as the load's users
make (lone_user_samples), before and after the load. Pages sent back to back are printed too.
Users think BERTH_LOAD_THINK_SECONDS (mean, default 1.0) between pages.

BERTH_LOAD_INVENTORY=both (default) runs the scenario twice in one run, side by side: pages reading
the engine live (target <= 3x) and pages reading the event-kept inventory with its keeper running
(issue 18: target <= 2x, and a new SSE client's first event p95 <= 100 ms); `on` or `off` runs one.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import env_seconds, heading, median, summarize, verdict
from tooling.processes import ManagedProcess, machine_cpu, process_table, start_web_server, start_worker
from tooling.scratch_images import build_scratch_image
from tooling.slow_registry import SlowRegistry

ROOT = Path(__file__).resolve().parent.parent
PULL_LAYER_BYTES = 4 * 1024 * 1024
BENCH_LABEL = "berth.bench.load"
PASSWORD = "load-bench-passphrase-1"
TARGET_RATIO = 3.0


def _terminate_on_sigterm() -> None:
    # `timeout` and Ctrl-C both end the run through `finally` blocks that stop our children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# --- the world: database, users, images --------------------------------------------


def _setup_django(workdir: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'load.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("BERTH_DATA_DIR", str(workdir / "data"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _make_users(count: int) -> tuple[list[str], object]:
    """`count` viewers with ready sessions (cookie values) and one operator who pulls."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore

    from images_app.roles import OPERATOR, VIEWER, assign_role, ensure_roles

    ensure_roles()
    user_model = get_user_model()
    hashed = make_password(PASSWORD)  # hash once: 50 PBKDF2 runs would dominate the setup
    cookies = []
    for index in range(count):
        user = user_model.objects.create(username=f"load{index:03d}", password=hashed)
        assign_role(user, VIEWER)
        # A session as the login form would leave it (force_login's recipe), without 50 password checks.
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "images_app.roles.RoleBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(session.session_key)
    operator = user_model.objects.create(username="load-operator", password=hashed)
    assign_role(operator, OPERATOR)
    return cookies, (settings.SESSION_COOKIE_NAME, operator)


class Images:
    """Images the run builds in the engine (and removes afterwards)."""

    def __init__(self, docker_host: str) -> None:
        import docker

        self.api = docker.APIClient(base_url=docker_host, version="auto", timeout=120)

    def build(self, tag: str | None, layers: list[int], busybox: bool = True) -> str:
        labels = {BENCH_LABEL: "1", "nonce": str(random.random())}
        return build_scratch_image(self.api, tag, layers=layers, busybox=busybox, labels=labels)

    def seed(self, registry: str | None) -> dict[str, str]:
        """A list page of ~60 rows, and (with a registry) a multi-layer image to pull again and again."""
        app = self.build("bench/app:1", [256 * 1024, 512 * 1024])
        for index in range(2, 41):
            self.api.tag(app, "bench/app", str(index))
        for index in range(15):
            self.build(f"bench/tool{index}:latest", [], busybox=False)
        seeded = {"image_id": app, "reference": "bench/app:1"}
        if registry:
            pullable = self.build(None, [PULL_LAYER_BYTES] * 3)
            remote = f"{registry}/bench/pullme"
            self.api.tag(pullable, remote, "1")
            for chunk in self.api.push(remote, tag="1", stream=True, decode=True):
                if "error" in chunk:
                    raise RuntimeError(chunk["error"])
            self.api.remove_image(pullable, force=True)
            seeded["pull_reference"] = f"{remote}:1"
        return seeded

    def forget(self, reference: str) -> None:
        try:
            self.api.remove_image(reference, force=True)
        except Exception:  # noqa: BLE001  (already gone is fine)
            pass

    def cleanup(self) -> None:
        for image in self.api.images(filters={"label": BENCH_LABEL}):
            self.forget(image["Id"])


# --- processes ---------------------------------------------------------------------


def web_worker_pids(server_pid: int) -> list[int]:
    """The web server's worker processes (not multiprocessing's resource tracker beside them)."""
    workers = []
    for pid in process_table().children.get(server_pid, []):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in command:
            workers.append(pid)
    return workers


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants, from /proc; 0 if unreadable."""
    return process_table().cpu_with_descendants(pid)


def service_pids() -> dict[str, int]:
    """The engine and Redis that scripts/services.sh started for this run, when their pidfiles say."""
    folder = os.environ.get("BERTH_SERVICES_DIR")
    found = {}
    for name, pidfile in (("engine", "e/dockerd.pid"), ("redis", "redis/redis.pid")):
        try:
            found[name] = int(Path(folder, pidfile).read_text().strip()) if folder else 0
        except (OSError, ValueError):
            continue
    return {name: pid for name, pid in found.items() if pid}


def start_server(workdir: Path) -> tuple[ManagedProcess, str]:
    # make run's default: one per core, plus one.
    workers = int(os.environ.get("BERTH_WEB_WORKERS", str((os.cpu_count() or 1) + 1)))
    return start_web_server(workdir, dict(os.environ), workers=workers)


# --- which pages exist on this branch ----------------------------------------------


def _named_routes() -> dict[str, tuple[str, list[str]]]:
    """name -> (route template with <params>, param names) for every named URL."""
    from django.urls import get_resolver

    routes: dict[str, tuple[str, list[str]]] = {}

    def walk(resolver, prefix: str = "") -> None:
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                if not getattr(pattern, "namespace", None):
                    walk(pattern, prefix + str(pattern.pattern))
            elif pattern.name:
                route = "/" + prefix + str(pattern.pattern)
                params = re.findall(r"<(?:\w+:)?(\w+)>", route)
                routes[pattern.name] = (route, params)

    walk(get_resolver())
    return routes


def _fill(route: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), route)


_SKIP_WORDS = ("remove", "delete", "export", "stream", "events", "confirm", "cancel", "approve", "reject", "logout")


def discover_pages(session: requests.Session, base: str, seeded: dict[str, str]) -> dict[str, list[str]]:
    """Concrete URLs by kind: 'list', 'image' (the image page and its layers), 'history'."""
    image_id = seeded["image_id"]
    candidates_for_image = [image_id, image_id.removeprefix("sha256:"), image_id[7:19], seeded["reference"]]
    pages: dict[str, list[str]] = {"list": [f"{base}/env/local/images/"], "image": [], "history": []}
    for name, (route, params) in sorted(_named_routes().items()):
        if any(word in name for word in _SKIP_WORDS) or re.search(r"[\^$(]", route):
            continue
        extra = [p for p in params if p != "env"]
        kind = None
        if "history" in name or name.startswith("audit"):
            kind = "history"
        if len(extra) == 1 and "image" in name:
            kind = "image" if kind is None else kind
        if kind is None or len(extra) > 1 or (kind == "history" and extra and "image" not in name):
            continue
        tries = [""] if not extra else candidates_for_image
        for value in tries:
            url = base + _fill(route, {"env": "local", **({extra[0]: value} if extra else {})})
            try:
                response = session.get(url, timeout=30)
            except requests.RequestException:
                continue
            if response.status_code == 200 and "text/html" in response.headers.get("Content-Type", ""):
                pages[kind].append(url)
                break
    return pages


def discover_pull_stream(
    session: requests.Session, base: str, reference: str, images: Images
) -> tuple[callable, str] | None:
    """If this branch has pulls with an SSE stream: a function that starts a pull and returns its stream URL."""
    from images_app.models import PullJob

    routes = _named_routes()
    form_names = [n for n, (_, params) in routes.items() if "pull" in n and params == ["env"]]
    stream_names = [
        n for n, (_, params) in routes.items() if "pull" in n and ("stream" in n or "events" in n) and len(params) >= 1
    ]
    if not form_names or not stream_names:
        return None
    stream_route, stream_params = routes[stream_names[0]]

    def start_pull() -> str | None:
        images.forget(reference)
        before = PullJob.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for name in form_names:
            url = base + _fill(routes[name][0], {"env": "local"})
            token = session.cookies.get("csrftoken") or ""
            session.post(
                url,
                data={"reference": reference, "csrfmiddlewaretoken": token},
                headers={"Referer": url},
                timeout=30,
                allow_redirects=False,
            )
            job = PullJob.objects.filter(id__gt=before).order_by("-id").first()
            if job is not None:
                values = {"env": "local", **{p: str(job.id) for p in stream_params if p != "env"}}
                return base + _fill(stream_route, values)
        return None

    session.get(base + "/login/", timeout=10)  # a CSRF cookie for the form posts
    first = start_pull()
    if first is None:
        return None
    return start_pull, first


# --- the load ----------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error:
                self.errors[f"{kind}: {error}"] += 1


def browse(cookie: tuple[str, str], pages: dict[str, list[str]], until: float, think: float, rec: Recorder) -> None:
    session = requests.Session()
    session.cookies.set(*cookie)
    kinds = [k for k in ("list", "list", "image", "history") if pages.get(k)]
    rng = random.Random()
    # Users arrive spread over one think period, as people do, not as one burst at t=0.
    time.sleep(rng.uniform(0, 2 * think) if think else 0)
    while time.monotonic() < until:
        kind = rng.choice(kinds)
        url = rng.choice(pages[kind])
        start = time.perf_counter()
        error = None
        try:
            response = session.get(url, timeout=30, allow_redirects=False)
            if response.status_code != 200:
                error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            error = type(exc).__name__
        rec.add(kind, time.perf_counter() - start, error)
        if think:
            time.sleep(min(rng.uniform(0, 2 * think), max(0.0, until - time.monotonic())))


def generator_delay(until: float, rec: Recorder) -> None:
    """How late the load generator's own threads wake (GIL and scheduling): part of every latency it measures."""
    while time.monotonic() < until:
        start = time.perf_counter()
        time.sleep(0.01)
        rec.add("generator", time.perf_counter() - start - 0.01, None)


class PullFeed:
    """The stream URL of the pull currently in progress, renewed by a driver thread."""

    def __init__(self, first: str) -> None:
        self.url = first
        self.lock = threading.Lock()
        self.pulls = 1

    def current(self) -> str:
        with self.lock:
            return self.url


def drive_pulls(feed: PullFeed, start_pull, until: float) -> None:
    while time.monotonic() < until:
        time.sleep(3)
        url = start_pull()
        if url:
            with feed.lock:
                feed.url = url
                feed.pulls += 1


def watch(
    feed: PullFeed, cookie: tuple[str, str], join_at: float, until: float, rec: Recorder, events: Counter
) -> None:
    """One SSE client: joins at `join_at` (the users are browsing by then), follows the feed's pull until `until`."""
    session = requests.Session()
    session.cookies.set(*cookie)
    time.sleep(max(0.0, join_at - time.monotonic()))
    watched = ""
    while time.monotonic() < until:
        url = feed.current()
        if url == watched:
            time.sleep(0.5)  # that pull's stream already ended: wait for the next pull
            continue
        watched = url
        start = time.perf_counter()
        first_event = None
        try:
            with session.get(url, stream=True, timeout=(10, 30)) as response:
                if response.status_code != 200:
                    rec.add("sse", time.perf_counter() - start, f"HTTP {response.status_code}")
                    time.sleep(1)
                    continue
                for line in response.iter_lines():
                    if line.startswith(b"data:"):
                        if first_event is None:
                            first_event = time.perf_counter() - start
                        events["data"] += 1
                    if time.monotonic() >= until:
                        break
            rec.add("sse", first_event if first_event is not None else time.perf_counter() - start, None)
        except requests.RequestException as exc:
            rec.add("sse", time.perf_counter() - start, type(exc).__name__)
            time.sleep(0.5)


def idle_samples(session: requests.Session, url: str, count: int = 30, *, fresh_too: bool = True) -> list[float]:
    """`count` keepalive latencies of `url` sent back to back on an otherwise idle server (after 10 warm-ups)."""
    for _ in range(10):
        session.get(url, timeout=30)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        session.get(url, timeout=30)
        samples.append(time.perf_counter() - start)
    fresh = []
    for _ in range(count if fresh_too else 0):
        other = requests.Session()
        other.cookies.update(session.cookies)
        start = time.perf_counter()
        other.get(url, timeout=30)
        fresh.append(time.perf_counter() - start)
        other.close()
    if fresh:
        print(
            f"idle: keepalive median {median(samples) * 1000:.1f} ms, "
            f"fresh-connection median {median(fresh) * 1000:.1f} ms"
        )
    return samples


LONE_USER_GAP = (0.25, 0.75)


def lone_user_samples(session: requests.Session, url: str, count: int = 30) -> list[float]:
    """`count` latencies of `url` for one user alone, a pause between pages as the load's users make.

    The load's users come back to a page after a think time, to a process that was idle
    meanwhile: caches gone cold, threads asleep. Requests sent back to back find everything
    warm, and on this 2-core machine a lone user's pages already take 1.3-2x as long as
    those (bench output, "with no load at all"). Comparing the load's pages with these
    compares like with like: the only difference is the other users. The pause is shorter
    than a think time to keep the run short; the pages are as cold after a quarter second.
    """
    samples = []
    for _ in range(count):
        time.sleep(random.uniform(*LONE_USER_GAP))
        start = time.perf_counter()
        session.get(url, timeout=30)
        samples.append(time.perf_counter() - start)
    return samples


INVENTORY_TARGET_RATIO = 2.0
SSE_FIRST_EVENT_TARGET = 0.100


@dataclass
class ModeResult:
    mode: str
    list_idle: float  # a lone user's median (lone_user_samples), before and after the load
    list_back_to_back: float  # the median of pages sent back to back, for reference
    list_p95: float
    sse_first_p95: float
    errors: int
    web_cpu_per_request: float

    @property
    def ratio(self) -> float:
        return self.list_p95 / self.list_idle if self.list_idle else float("nan")


def main() -> int:
    _terminate_on_sigterm()
    seconds = env_seconds("BERTH_LOAD_SECONDS", 60)
    users = int(os.environ.get("BERTH_LOAD_USERS", "50"))
    sse_clients = int(os.environ.get("BERTH_LOAD_SSE_CLIENTS", "50"))
    sse_mode = os.environ.get("BERTH_LOAD_SSE_MODE", "one")
    if sse_mode not in ("one", "churn"):
        sys.exit("BERTH_LOAD_SSE_MODE must be one or churn")
    inventory = os.environ.get("BERTH_LOAD_INVENTORY", "both")
    modes = {"both": ["live", "inventory"], "off": ["live"], "on": ["inventory"]}.get(inventory)
    if modes is None:
        sys.exit("BERTH_LOAD_INVENTORY must be both, on or off")
    think = env_seconds("BERTH_LOAD_THINK_SECONDS", 1.0)
    workdir = Path(tempfile.mkdtemp(prefix="load-", dir=os.environ.get("BERTH_SERVICES_DIR")))
    _setup_django(workdir)
    cookies, operator = _make_users(users)
    results = []
    for mode in modes:
        heading(f"load ({mode}): {users} users + {sse_clients} SSE clients for {seconds:.0f} s (think {think:.1f} s)")
        results.append(run_mode(mode, workdir, cookies, operator, seconds, sse_clients, sse_mode, think))
    heading("load: side by side")
    ok = True
    for result in results:
        target = INVENTORY_TARGET_RATIO if result.mode == "inventory" else TARGET_RATIO
        mode_ok = result.ratio <= target and result.errors == 0
        line = (
            f"{result.mode:>9}: list p95 under load / idle median = {result.ratio:5.2f}x (target <= {target:.0f}x; "
            f"against pages sent back to back {result.list_p95 / result.list_back_to_back:.2f}x), "
            f"errors {result.errors}, web CPU {result.web_cpu_per_request * 1000:.1f} ms/request"
        )
        if result.mode == "inventory" and sse_clients:
            sse_ok = result.sse_first_p95 <= SSE_FIRST_EVENT_TARGET
            line += f", SSE first event p95 {result.sse_first_p95 * 1000:.0f} ms (target <= 100 ms): {verdict(sse_ok)}"
            mode_ok = mode_ok and sse_ok
        print(line + f" -> {verdict(mode_ok)}")
        ok = ok and mode_ok
    if len(results) == 2 and results[0].web_cpu_per_request:
        share = results[1].web_cpu_per_request / results[0].web_cpu_per_request
        print(f"web CPU per request, inventory / live: {share:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def start_keeper(workdir: Path) -> ManagedProcess:
    """The watcher, which keeps the inventory, once it has written a fresh one."""
    from django.utils import timezone

    from images_app.models import Inventory

    proc = ManagedProcess(
        [sys.executable, "manage.py", "berth_watcher", "--environment", "local"],
        dict(os.environ),
        workdir / "watcher.log",
    )

    def fresh() -> bool:
        row = Inventory.objects.filter(environment__name="local").first()
        return bool(row and row.heartbeat_at and (timezone.now() - row.heartbeat_at).total_seconds() < 3)

    proc.wait_until(fresh, 60, "inventory keeper")
    return proc


def run_mode(
    mode: str,
    workdir: Path,
    cookies: list[str],
    operator_and_cookie: tuple[str, object],
    seconds: float,
    sse_clients: int,
    sse_mode: str,
    think: float,
) -> ModeResult:
    cookie_name, operator = operator_and_cookie
    os.environ["BERTH_INVENTORY"] = "1" if mode == "inventory" else "0"
    slow = None
    docker_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    registry = os.environ.get("BERTH_TEST_REGISTRY")
    # Figures from a busy machine mean little: say how busy it was (the load generator shares it too).
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run")
    images = Images(docker_host)
    children: list[ManagedProcess] = []
    try:
        seeded = images.seed(registry)
        children.append(start_worker(workdir, dict(os.environ), f"load-{mode}@bench"))
        if mode == "inventory":
            children.append(start_keeper(workdir))
        server, base = start_server(workdir)
        children.append(server)
        probe = requests.Session()
        probe.cookies.set(cookie_name, cookies[0])
        pages = discover_pages(probe, base, seeded)
        for kind, urls in pages.items():
            shown = ", ".join(u.removeprefix(base) for u in urls) or "none on this branch (skipped)"
            print(f"pages[{kind}]: {shown}")
        # Idle latency is sampled before and again after the load (the run's median of both): a
        # shared machine's speed drifts by tens of percent within minutes, and a ratio against
        # one moment's sample measured the drift as much as the load.
        back_to_back = idle_samples(probe, pages["list"][0])
        lone_before = lone_user_samples(probe, pages["list"][0])

        feed = None
        watcher_cookies = cookies
        if sse_clients and registry:
            pull_reference = seeded["pull_reference"]
            if sse_mode == "one":
                # The scenario: every SSE client watches one pull that lasts the whole
                # run. Blobs come through a throttling proxy so the pull stays in flight.
                slow = SlowRegistry(registry, bytes_per_second=max(1, PULL_LAYER_BYTES // int(seconds + 15)))
                pull_reference = pull_reference.replace(registry, slow.host, 1)
            operator_session = _login(base, operator.get_username())
            found = discover_pull_stream(operator_session, base, pull_reference, images)
            if found is None:
                print("sse: no pull stream on this branch (skipped)")
            else:
                start_pull, first = found
                feed = PullFeed(first)
                how = "one pull lasting the run" if sse_mode == "one" else "a new pull every 3 s (clients reconnect)"
                print(f"sse: {how}: {pull_reference} at {first.removeprefix(base)}")
                # Viewers may or may not watch others' pulls on this branch; if not, watchers use the operator.
                with probe.get(first, stream=True, timeout=(10, 10)) as answer:
                    if answer.status_code == 403:
                        watcher_cookies = [operator_session.cookies.get(cookie_name)]
                        print("sse: viewers may not watch pulls here; the SSE clients use the operator's session")

        rec = Recorder()
        events: Counter[str] = Counter()
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(target=browse, args=((cookie_name, c), pages, until, think, rec), daemon=True)
            for c in cookies
        ]
        threads.append(threading.Thread(target=generator_delay, args=(until, rec), daemon=True))
        if feed is not None and sse_mode == "churn":
            threads.append(threading.Thread(target=drive_pulls, args=(feed, start_pull, until), daemon=True))
        if feed is not None:
            # "A new SSE client under load": clients join one by one while the users browse (from 5 s in, over
            # the first half of the run), not all in the same instant as the users' first pages.
            joins = [
                until - seconds + min(5.0, seconds / 6) + i * (seconds / 2) / sse_clients for i in range(sse_clients)
            ]
            threads += [
                threading.Thread(
                    target=watch,
                    args=(feed, (cookie_name, watcher_cookies[i % len(watcher_cookies)]), joins[i], until, rec, events),
                    daemon=True,
                )
                for i in range(sse_clients)
            ]
        # The engine and Redis share the 2 cores too: the engine answers 2-4 calls a page.
        watched = {child.name: child.proc.pid for child in children} | service_pids()
        cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
        web_processes = {pid: cpu_seconds(pid) for pid in web_worker_pids(server.proc.pid)}
        generator_before = time.process_time()
        machine_before = machine_cpu()
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, until - time.monotonic()) + 45)
        elapsed = time.perf_counter() - began
        machine_after = machine_cpu()
        # Who used the 2 cores: the load generator shares the machine with what it measures.
        cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in watched.items()}
        cpu_used["load generator"] = time.process_time() - generator_before
        # How evenly the web processes shared the work (config.web_server: a listening socket each).
        web_shares = sorted((cpu_seconds(pid) - before for pid, before in web_processes.items()), reverse=True)

        page_latencies = [
            s for kind, values in rec.latencies.items() if kind not in ("sse", "generator") for s in values
        ]
        total = summarize(page_latencies)
        page_errors = sum(n for key, n in rec.errors.items() if not key.startswith("sse"))
        print(f"\nrequests: {total.count} in {elapsed:.1f} s = {total.count / elapsed:.1f} req/s")
        print(total.line("all pages"))
        for kind in ("list", "image", "history"):
            if rec.latencies.get(kind):
                print(summarize(rec.latencies[kind]).line(f"  {kind} page"))
        if feed is not None:
            sse = summarize(rec.latencies.get("sse", []))
            print(sse.line("sse: time to first event"))
            print(f"sse: {feed.pulls} pulls watched, {events['data']} events received")
        print(summarize(rec.latencies["generator"]).line("generator's own wake-up delay"))
        print(f"errors: {sum(rec.errors.values())} (pages {page_errors})")
        for key, count in rec.errors.most_common(10):
            print(f"  {count:6d}  {key}")
        print(f"machine: load average {os.getloadavg()[0]:.1f} after the run")
        # A shared VM's noisy hours: time its CPUs wanted but the hypervisor gave another guest.
        print(
            f"machine: CPUs busy {machine_after.share_busy_since(machine_before):.0%} during the run, "
            f"stolen by the hypervisor {machine_after.share_stolen_since(machine_before):.1%}"
        )
        if web_shares and sum(web_shares):
            print(
                "web processes' CPU: "
                + ", ".join(f"{used:.1f}" for used in web_shares)
                + f" s (the busiest {web_shares[0] / (sum(web_shares) / len(web_shares)):.2f}x their mean)"
            )
        print(
            "cpu during the run: "
            + ", ".join(f"{name} {used:.1f} s ({used / elapsed:.0%} of a core)" for name, used in cpu_used.items())
        )
        time.sleep(2)  # the last pages and streams wind down
        lone_after = lone_user_samples(probe, pages["list"][0])
        back_to_back += idle_samples(probe, pages["list"][0], fresh_too=False)
        lone = summarize(lone_before + lone_after)
        list_idle, list_back_to_back = lone.p50, median(back_to_back)
        under_load = summarize(rec.latencies["list"])
        list_p95 = under_load.p95
        print(
            f"list page alone: median {list_idle * 1000:.1f} ms (before the load {median(lone_before) * 1000:.1f},"
            f" after {median(lone_after) * 1000:.1f}), p95 {lone.p95 * 1000:.1f} ms;"
            f" sent back to back: median {list_back_to_back * 1000:.1f} ms"
        )
        print(
            f"with no load at all, a lone user's list p95 is {lone.p95 / list_back_to_back:.2f}x"
            " the back-to-back median: the part of any ratio against that median which is not load"
        )
        print(f"list page under load: p50 {under_load.p50 * 1000:.1f} ms, p95 {list_p95 * 1000:.1f} ms")
        web_cpu = cpu_used.get("uvicorn", 0.0) / max(1, total.count)
        return ModeResult(
            mode=mode,
            list_idle=list_idle,
            list_back_to_back=list_back_to_back,
            list_p95=list_p95,
            sse_first_p95=summarize(rec.latencies.get("sse", [])).p95 if feed is not None else float("nan"),
            errors=sum(rec.errors.values()),
            web_cpu_per_request=web_cpu,
        )
    finally:
        for child in reversed(children):
            child.stop()
        if slow is not None:
            slow.close()
        images.cleanup()


def _login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(base + "/login/", timeout=10)
    response = session.post(
        base + "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base + "/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: HTTP {response.status_code}")
    return session


if __name__ == "__main__":
    sys.exit(main())
