"""Audit history at scale: seed 1,000,000 events, time the filtered history page.

    python -m bench.audit [--events N] [--runs R] [--fresh] [--verify]

Runs in its own throwaway SQLite database (BERTH_BENCH_DIR, default
/tmp/berth-bench-audit), never the real or the test one. Seeding bulk-inserts
rows whose hash chain is computed here, so `verify_audit` holds on the result.
Prints p50 and p95 of the full page (login, view, template) per filter combo, drawn for every
request (BERTH_KEPT_PAGES=0: a kept page would answer the repeats without running the filter).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(os.environ.get("BERTH_BENCH_DIR", Path(tempfile.gettempdir()) / "berth-bench-audit"))
TARGET_P50_MS = 200.0


def _configure() -> None:
    # Before Django reads its settings: a private data dir and database.
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "static").mkdir(exist_ok=True)  # WhiteNoise warns at start when STATIC_ROOT is missing
    os.environ["BERTH_DATA_DIR"] = str(BENCH_DIR)
    os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DIR / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("BERTH_MANIFEST_STATIC", "0")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("BERTH_LOG_LEVEL", "WARNING")
    # Every request runs its filter: with kept pages, the same query's second request is the page
    # kept from the first (no query at all), and the figures would time the cache, not the filters.
    os.environ["BERTH_KEPT_PAGES"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


ACTORS = [f"user{n:02d}" for n in range(40)]
ENVIRONMENTS = ["local", "build", "prod"]
REPOS = [f"team{n % 30}/app{n}" for n in range(1500)] + ["nginx", "redis", "alpine", "postgres", "busybox"]
# (action, weight): pulls dominate a real history, user and registry changes are rare.
ACTION_WEIGHTS = [
    ("login", 12),
    ("logout", 8),
    ("pull_requested", 20),
    ("pull_started", 18),
    ("pull_succeeded", 16),
    ("pull_failed", 2),
    ("pull_cancelled", 1),
    ("image_removed", 8),
    ("image_untagged", 4),
    ("images_pruned", 1),
    ("cleanup_requested", 3),
    ("cleanup_approved", 2),
    ("cleanup_rejected", 1),
    ("cleanup_executed", 2),
    ("registry_changed", 0.2),
    ("user_role_changed", 0.1),
    ("audit_exported", 0.1),
]
OUTCOME_WEIGHTS = [("success", 85), ("failure", 8), ("denied", 2), ("info", 5)]


def _seed(count: int) -> float:
    """Insert `count` events spread over the last year, chain included. Returns seconds taken."""
    import datetime as dt
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from images_app.models import AuditEvent
    from images_app.services.audit import GENESIS_HASH, digest_of

    rng = random.Random(8)
    actions, action_w = zip(*ACTION_WEIGHTS, strict=True)
    outcomes, outcome_w = zip(*OUTCOME_WEIGHTS, strict=True)
    start = timezone.now() - dt.timedelta(days=365)
    step = dt.timedelta(days=365) / count
    table = AuditEvent._meta.db_table
    columns = (
        "created_at, actor_name, client_address, environment, action, target_reference, target_image_id,"
        " parameters, outcome, message, prev_hash, hash"
    )
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 12)})"
    adapt = connection.ops.adapt_datetimefield_value
    began = time.perf_counter()
    prev = GENESIS_HASH
    batch: list[tuple] = []
    action_draws = rng.choices(actions, action_w, k=count)
    outcome_draws = rng.choices(outcomes, outcome_w, k=count)
    with transaction.atomic(), connection.cursor() as cursor:
        for index in range(count):
            created = start + step * index
            repo = rng.choice(REPOS)
            reference = f"{repo}:{rng.randrange(40)}"
            image_id = "sha256:" + rng.getrandbits(256).to_bytes(32, "big").hex()
            action = action_draws[index]
            outcome = outcome_draws[index]
            parameters = {"force": rng.random() < 0.1} if action.startswith("image_") else {}
            message = "" if outcome == "success" else f"engine said: {action} {outcome}"
            content = {
                "created_at": created,
                "actor_id": None,
                "actor_name": rng.choice(ACTORS),
                "client_address": f"10.0.{rng.randrange(4)}.{rng.randrange(250)}",
                "environment": rng.choice(ENVIRONMENTS),
                "action": action,
                "target_reference": reference,
                "target_image_id": image_id,
                "parameters": parameters,
                "outcome": outcome,
                "message": message,
                "pull_job_id": None,
                "cleanup_request_id": None,
                "removal_job_id": None,
                "prev_hash": prev,
            }
            digest = digest_of(content)
            batch.append(
                (
                    adapt(created),
                    content["actor_name"],
                    content["client_address"],
                    content["environment"],
                    action,
                    reference,
                    image_id,
                    json.dumps(parameters),
                    outcome,
                    message,
                    prev,
                    digest,
                )
            )
            prev = digest
            if len(batch) >= 20_000:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
    return time.perf_counter() - began


def _combos(window_day: str, week_end: str, middle_id: int) -> list[tuple[str, dict[str, str]]]:
    return [
        ("no filter (newest page)", {}),
        ("action", {"action": "pull_failed"}),
        ("actor", {"actor": "user07"}),
        ("outcome + environment", {"outcome": "denied", "environment": "prod"}),
        ("reference text", {"target": "nginx"}),
        ("reference with tag", {"target": "team3/app33:7"}),
        ("image ID prefix", {"target": "sha256:ab12"}),
        ("date range (a week)", {"date_from": window_day, "date_to": week_end}),
        ("actor + action + dates", {"actor": "user11", "action": "image_removed", "date_from": window_day}),
        ("rare action + environment", {"action": "user_role_changed", "environment": "build"}),
        ("older page, mid-table", {"before": str(middle_id)}),
        ("older page + action", {"action": "login", "before": str(middle_id)}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15, help="requests per filter combination")
    parser.add_argument("--fresh", action="store_true", help="drop the bench database and seed again")
    parser.add_argument("--verify", action="store_true", help="also time verify_audit over the whole table")
    args = parser.parse_args()
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            (BENCH_DIR / f"bench.sqlite3{suffix}").unlink(missing_ok=True)
    _configure()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from images_app.models import AuditEvent
    from images_app.roles import ADMIN, assign_role

    call_command("migrate", verbosity=0)
    existing = AuditEvent.objects.count()
    if existing < args.events:
        if existing:
            print(f"bench database has {existing} events, want {args.events}: use --fresh", file=sys.stderr)
            return 2
        seconds = _seed(args.events)
        print(f"seeded {args.events:,} events in {seconds:.1f} s ({BENCH_DIR})")
    else:
        print(f"reusing {existing:,} events in {BENCH_DIR}")

    user_model = get_user_model()
    admin = user_model.objects.filter(username="bench-admin").first()
    if admin is None:
        admin = user_model.objects.create_user("bench-admin", password=None)
        assign_role(admin, ADMIN)
    setup_test_environment()  # response.context for sanity checks; templates still fully render
    client = Client()
    client.force_login(admin)

    ids = AuditEvent.objects.order_by("id").values_list("id", flat=True)
    first_id, last_id = ids.first(), AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    middle = AuditEvent.objects.get(pk=(first_id + last_id) // 2)
    day = middle.created_at.date()
    import datetime as dt

    all_times: list[float] = []
    print(f"{'filter':32} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for name, query in _combos(str(day), str(day + dt.timedelta(days=6)), middle.pk):
        times = []
        rows = 0
        for _ in range(args.runs):
            began = time.perf_counter()
            response = client.get("/audit/", query)
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                print(f"{name}: HTTP {response.status_code}", file=sys.stderr)
                return 1
            rows = len(response.context["page"].events)
        times.sort()
        all_times.extend(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:32} {rows:>5} {statistics.median(times):>8.1f} {p95:>8.1f}")
    all_times.sort()
    p50 = statistics.median(all_times)
    p95 = all_times[round(0.95 * (len(all_times) - 1))]
    verdict = "OK" if p50 < TARGET_P50_MS else "OVER TARGET"
    print(f"{'all combos':32} {'':>5} {p50:>8.1f} {p95:>8.1f}   target p50 < {TARGET_P50_MS:.0f} ms: {verdict}")

    if args.verify:
        from images_app.services.audit_chain import audit_chain_verify

        began = time.perf_counter()
        report = audit_chain_verify()
        print(
            f"verify_audit: {'OK' if report.ok else report.problem} over {report.checked:,} events "
            f"in {time.perf_counter() - began:.1f} s"
        )
    return 0 if p50 < TARGET_P50_MS else 1


if __name__ == "__main__":
    sys.exit(main())
