"""Load test of the production profile: gunicorn on PostgreSQL and Redis, on loopback only.

Creates its own PostgreSQL schema (seeded with the real catalog and synthetic planets) and its
own rate-limit key prefix, starts gunicorn, and lets simulated users (logged-in viewers, no think
time) mix dashboards, catalog pages, console list views, API reads and API writes with an
editor's token for at most 60 s. Reports throughput, p50/p95 latency, 5xx answers and lost
writes (a 201 from the API whose planet is not in the database afterwards), then drops the
schema. Exit status 1 when there is any 5xx, failed request or lost write.

    make loadtest
    .venv/bin/python tests/load/loadtest.py --duration 10 --users 20
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from console import create_app
from console.config import normalise_database_url
from console.paging import MAX_OFFSET
from console.services import accounts
from console.services import api_tokens as tokens
from console.services.planets import load_synthetic, seed_catalog
from models import Planet, Role, db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_DURATION = 60
PASSWORD = "load-test-password"
TIMEOUT = 30
WRITE_BODY = {"planet_type": "super_earth", "host_star": "Loadtest", "discovery_year": 2015,
              "discovery_method": "transit", "radius_earth": 1.6, "orbital_period_days": 384.8}


@dataclass
class Sample:
    category: str
    status: int | None  # None: no answer (connection error or timeout)
    seconds: float


@dataclass
class UserLog:
    samples: list[Sample] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int,
                        default=int(os.environ.get("LOADTEST_DURATION", MAX_DURATION)),
                        help=f"seconds of load, 1-{MAX_DURATION} (env LOADTEST_DURATION)")
    parser.add_argument("--users", type=int, default=50, help="simulated users")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--synthetic", type=int, default=10_000,
                        help="synthetic planets added to the real catalog")
    parser.add_argument("--database-url", default=os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL database to create the schema in (env TEST_DATABASE_URL)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if not 1 <= args.duration <= MAX_DURATION:
        parser.error(f"--duration must be between 1 and {MAX_DURATION} seconds")
    for url in (args.database_url, args.redis_url):
        if make_url(url).host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"loopback only: {url}")
    return args


@contextmanager
def private_schema(base_url: str) -> Iterator[str]:
    """A fresh schema in the database at `base_url`; yields a URL that works in it."""
    base = make_url(normalise_database_url(base_url))
    schema = f"load_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def prepare_database(app: Flask, users: int, synthetic: int) -> tuple[list[str], str, list[int]]:
    """Migrate and seed the app's database; returns (viewers' usernames, an editor's API token,
    planet ids)."""
    with app.app_context():
        upgrade()
        seed_catalog()
        load_synthetic(synthetic)
        names = [f"viewer{number:03d}" for number in range(users)]
        for name in names:
            accounts.create_account(name, f"{name}@example.com", PASSWORD, Role.VIEWER,
                                    via="cli")
        editor = accounts.create_account("loadeditor", "loadeditor@example.com", PASSWORD,
                                         Role.EDITOR, via="cli")
        _, secret = tokens.create_token(editor, "load test", via="cli")
        planet_ids = list(db.session.scalars(sa.select(Planet.id)))
        db.engine.dispose()
    return names, secret, planet_ids


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(workers: int, log: Path) -> Iterator[str]:
    """The console under gunicorn, configured by the environment; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--no-control-socket",
             "--bind", f"127.0.0.1:{port}", "console:create_app()"],
            cwd=PROJECT_ROOT, stdout=stream, stderr=stream)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {log}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_in(browser: requests.Session, base: str, username: str) -> None:
    page = browser.get(f"{base}/login", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = browser.post(f"{base}/login", timeout=TIMEOUT, allow_redirects=False, data={
        "csrf_token": token, "username": username, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not log in: {response.status_code}")


Send = Callable[[requests.Session], requests.Response]


def actions(base: str, planet_ids: list[int], api_token: str, user: int, log: UserLog,
            rnd: random.Random) -> list[tuple[int, str, Send]]:
    """(weight, category, request) for one simulated user."""
    written = iter(range(1, 10**9))
    headers = {"Authorization": f"Bearer {api_token}"}

    def write(browser: requests.Session) -> requests.Response:
        body = {**WRITE_BODY, "name": f"Loadtest {user:03d}-{next(written):06d} b"}
        response = browser.post(f"{base}/api/planets", json=body, headers=headers,
                                timeout=TIMEOUT)
        if response.status_code == 201:
            log.created_ids.append(response.json()["id"])
        return response

    def get(path: Callable[[], str]) -> Send:
        return lambda browser: browser.get(f"{base}{path()}", timeout=TIMEOUT)

    pages = max(1, min(len(planet_ids), MAX_OFFSET) // 25)  # the pages a number reaches
    searches = ["Kepler", "TRAPPIST", "HD", "Synthetic-0001"]
    return [
        (15, "dashboard /", get(lambda: "/")),
        (15, "catalog /planets", get(lambda: f"/planets?page={rnd.randint(1, pages)}")),
        (5, "catalog search", get(lambda: f"/planets?q={rnd.choice(searches)}")),
        (20, "planet /planets/<id>", get(lambda: f"/planets/{rnd.choice(planet_ids)}")),
        (8, "console planets list", get(lambda: f"/admin/planet/?page={rnd.randint(0, 20)}")),
        (4, "console users list", get(lambda: "/admin/user/")),
        (3, "console applications list", get(lambda: "/admin/application/")),
        (15, "API read /api/planets", get(lambda: f"/api/planets?page={rnd.randint(1, 50)}")),
        (15, "API write POST /api/planets", write),
    ]


def simulated_user(number: int, username: str, base: str, planet_ids: list[int], api_token: str,
                   start: threading.Barrier, stop: threading.Event, log: UserLog) -> None:
    rnd = random.Random(number)  # noqa: S311 - test traffic, not secrets
    browser = requests.Session()
    log_in(browser, base, username)
    choices = actions(base, planet_ids, api_token, number, log, rnd)
    weights = [weight for weight, _, _ in choices]
    start.wait()
    while not stop.is_set():
        _, category, send = rnd.choices(choices, weights)[0]
        began = time.perf_counter()
        try:
            status: int | None = send(browser).status_code
        except requests.RequestException:
            status = None
        log.samples.append(Sample(category, status, time.perf_counter() - began))


def run_load(base: str, usernames: list[str], planet_ids: list[int], api_token: str,
             duration: int) -> tuple[list[UserLog], float]:
    """Log every user in, then let them all loose for `duration` seconds."""
    logs = [UserLog() for _ in usernames]
    start, stop = threading.Barrier(len(usernames) + 1), threading.Event()
    threads = [threading.Thread(target=simulated_user, daemon=True, args=(
        number, name, base, planet_ids, api_token, start, stop, logs[number]))
        for number, name in enumerate(usernames)]
    for thread in threads:
        thread.start()
    start.wait(timeout=120)
    began = time.monotonic()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT + 5)  # a request under way ends within its timeout
    return logs, time.monotonic() - began


def lost_writes(app: Flask, created_ids: list[int]) -> int:
    """How many planets the API answered 201 for are not in the database."""
    with app.app_context():
        found = set(db.session.scalars(sa.select(Planet.id).where(Planet.id.in_(created_ids))))
        db.engine.dispose()
    return len(set(created_ids) - found)


def milliseconds(values: list[float], quantile: int) -> str:
    if len(values) < 2:
        return f"{values[0] * 1000:.0f}" if values else "-"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[quantile - 1] * 1000:.0f}"


def report(samples: list[Sample], elapsed: float, lost: int, writes: int) -> str:
    by_category: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_category[sample.category].append(sample)
    rows = ["| requests | count | p50 ms | p95 ms | 5xx | no answer | other 4xx |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for category, group in [*sorted(by_category.items()), ("all", samples)]:
        seconds = [sample.seconds for sample in group]
        statuses = [sample.status for sample in group]
        name = f"**{category}**" if category == "all" else category
        rows.append(
            f"| {name} | {len(group)} | {milliseconds(seconds, 50)} | {milliseconds(seconds, 95)}"
            f" | {sum(1 for s in statuses if s and s >= 500)}"
            f" | {statuses.count(None)}"
            f" | {sum(1 for s in statuses if s and 400 <= s < 500)} |")
    rows += ["", f"Throughput: {len(samples) / elapsed:.1f} requests/s over {elapsed:.1f} s. "
             f"API writes answered 201: {writes}; lost writes: {lost}."]
    return "\n".join(rows)


def main() -> int:
    args = parse_arguments()
    redis.Redis.from_url(args.redis_url, socket_timeout=2).ping()
    prefix = f"loadtest-{secrets.token_hex(6)}"
    workdir = Path(tempfile.mkdtemp(prefix="loadtest-"))
    with private_schema(args.database_url) as database_url:
        os.environ.update({
            "CONSOLE_ENV": "development",  # plain HTTP on loopback: cookies without Secure
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "RATELIMIT_STORAGE_URI": args.redis_url,
            "RATELIMIT_KEY_PREFIX": prefix,
            # Every simulated user comes from 127.0.0.1 and writes share one token.
            "API_RATE_LIMIT": "1000000 per minute",
            "API_WRITE_RATE_LIMIT": "1000000 per minute",
        })
        print(f"Seeding a schema with the catalog and {args.synthetic} synthetic planets, "
              f"{args.users} viewers and an editor's token", file=sys.stderr)
        app = create_app(instance_path=str(workdir / "instance"))
        usernames, api_token, planet_ids = prepare_database(app, args.users, args.synthetic)
        with gunicorn(args.workers, workdir / "gunicorn.log") as base:
            print(f"{args.users} users for {args.duration} s against {args.workers} gunicorn "
                  f"workers at {base}", file=sys.stderr)
            logs, elapsed = run_load(base, usernames, planet_ids, api_token, args.duration)
        created = [planet_id for log in logs for planet_id in log.created_ids]
        lost = lost_writes(app, created)
    redis_client = redis.Redis.from_url(args.redis_url, socket_timeout=2)
    for key in redis_client.scan_iter(match=f"*{prefix}*"):
        redis_client.delete(key)
    samples = [sample for log in logs for sample in log.samples]
    print(report(samples, elapsed, lost, len(created)))
    failed = sum(1 for s in samples if s.status is None or s.status >= 500)
    if failed or lost or not samples:
        print(f"FAILED: {failed} 5xx or unanswered requests, {lost} lost writes; "
              f"server log: {workdir / 'gunicorn.log'}", file=sys.stderr)
        return 1
    shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
