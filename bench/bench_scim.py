"""SCIM provisioning (issue 16): how long, how much server CPU and memory, to provision a force.

    .venv/bin/python bench/bench_scim.py [--users 50000] [--groups 2000] [--clients 4] [--db URL]

Starts `strongroom serve` on a fresh data dir (SQLite unless --db gives a PostgreSQL URL), issues a
provisioning token, then, like Entra ID's provisioning service, POSTs every user and then every group
with its members (each user in one group, so 2,000 groups of 25 for 50,000 users) from `--clients`
concurrent connections. Prints wall time and rate per phase, the server's CPU-seconds (utime + stime,
/proc/<pid>/stat) and peak RSS (VmHWM), the time of a `userName eq` lookup and of a deactivation
PATCH once everyone is in, and the load average (other work on a shared machine slows wall time;
CPU-seconds are steadier).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_average, median, strongroom_env, strongroom_server

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_body(n: int) -> dict[str, object]:
    name = f"officer{n:06d}@force.police.test"
    return {
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": name,
        "externalId": f"00000000-0000-0000-0000-{n:012d}",
        "name": {"givenName": "Officer", "familyName": f"Number {n}"},
        "displayName": f"Officer {n}",
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": str(n),
            "department": f"Division {n % 40}",
        },
    }


def run_phase(
    label: str,
    count: int,
    clients: int,
    send: Callable[[httpx.Client, int], str],
    server_cpu: Callable[[], float],
) -> list[str]:
    """Send `count` requests from `clients` connections; returns the ids made, prints the figures."""
    made: list[str] = [""] * count
    before_cpu, started = server_cpu(), time.perf_counter()

    def worker(first: int) -> None:
        with httpx.Client(timeout=120) as http:
            for n in range(first, count, clients):
                made[n] = send(http, n)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    seconds = time.perf_counter() - started
    cpu = server_cpu() - before_cpu
    print(
        f"{label}: {count} in {seconds:.1f} s ({count / seconds:.0f}/s), "
        f"server CPU {cpu:.1f} s ({1000 * cpu / count:.2f} ms each)"
    )
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (default: SQLite in the data dir)")
    args = parser.parse_args()
    extra = {"STRONGROOM_DATABASE__URL": args.db} if args.db else {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-scim-") as tmp,
        strongroom_server(Path(tmp) / "sr", extra_env=extra) as server,
    ):
        token = subprocess.run(
            [sys.executable, "-m", "strongroom", "users", "scim-token", "--name", "bench"],
            env={**strongroom_env(server.data_dir), **extra},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        base = server.url + "/scim/v2"
        print(f"{args.users} users, {args.groups} groups, {args.clients} clients; {load_average()}")
        print(f"server RSS before: {server.rss_mib():.0f} MiB")

        def post_user(http: httpx.Client, n: int) -> str:
            answer = http.post(f"{base}/Users", json=user_body(n), headers=headers)
            assert answer.status_code == 201, answer.text
            return str(answer.json()["id"])

        user_ids = run_phase("users", args.users, args.clients, post_user, server.cpu_seconds)
        print(f"server RSS after users: {server.rss_mib():.0f} MiB, peak {server.peak_rss_mib():.0f} MiB")

        def post_group(http: httpx.Client, n: int) -> str:
            members = [{"value": uid} for uid in user_ids[n :: args.groups]]
            body = {"schemas": [GROUP_SCHEMA], "displayName": f"Team {n:04d}", "members": members}
            answer = http.post(f"{base}/Groups", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
            return str(answer.json()["id"])

        run_phase("groups", args.groups, args.clients, post_group, server.cpu_seconds)
        print(f"server RSS after groups: {server.rss_mib():.0f} MiB, peak {server.peak_rss_mib():.0f} MiB")

        with httpx.Client(timeout=120, headers=headers) as http:
            lookups = []
            for n in range(0, args.users, max(1, args.users // 20)):
                started = time.perf_counter()
                found = http.get(
                    f"{base}/Users", params={"filter": f'userName eq "officer{n:06d}@force.police.test"'}
                )
                lookups.append(time.perf_counter() - started)
                assert found.json()["totalResults"] == 1
            print(f"userName eq lookup: median {1000 * median(lookups):.1f} ms over {len(lookups)}")
            page = http.get(f"{base}/Users", params={"startIndex": args.users // 2, "count": 100})
            assert len(page.json()["Resources"]) == 100
            started = time.perf_counter()
            off = {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            }
            assert http.patch(f"{base}/Users/{user_ids[0]}", json=off).status_code in (200, 204)
            print(f"deactivation PATCH: {1000 * (time.perf_counter() - started):.1f} ms")
        print(f"server peak RSS: {server.peak_rss_mib():.0f} MiB; {load_average()}")


if __name__ == "__main__":
    main()
