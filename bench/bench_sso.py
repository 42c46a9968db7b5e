"""Single sign-on round trips (issue 16): server time of one OIDC and one SAML sign-in, provider excluded.

    .venv/bin/python bench/bench_sso.py [--runs 20] [--saml-only]

Starts `strongroom serve` configured for both protocols, npm oidc-provider and SimpleSAMLphp (as the
tests do, tests/support/sso_providers.py), then signs in `--runs` times with each, from a fresh browser
each time. Reported per sign-in, median with the first run discarded:
- server CPU ms: utime + stime of the Strongroom process over the whole round trip (start, the
  provider's pages, the answer); the providers run in their own processes, so none of their work is in it;
- Strongroom wall ms: the time of Strongroom's own answers (start + callback/ACS). For OIDC the callback
  includes the token and userinfo calls to the provider, so it is an upper bound.
Goal: ≤ 100 ms of server time per sign-in. Prints the load average, as other benches do.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from common import CLOCK_TICKS, free_port, load_average, wait_http  # noqa: E402
from tests.support import sso_providers  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """utime + stime of the server and of the children it waited for (cutime + cstime: pysaml2 runs
    the xmlsec1 binary to check each signature, and that work is the server's too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def start_strongroom(data_dir: Path, port: int, oidc_url: str, idp_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "STRONGROOM_DEV_MODE": "1",
        "STRONGROOM_DATA_DIR": str(data_dir),
        "STRONGROOM_SERVER__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "STRONGROOM_SSO__OIDC__ISSUER": oidc_url,
        "STRONGROOM_SSO__OIDC__CLIENT_ID": "strongroom",
        "STRONGROOM_SSO__OIDC__CLIENT_SECRET": "strongroom-secret",
        "STRONGROOM_SSO__OIDC__SCOPES": '["openid", "email", "profile", "groups"]',
        "STRONGROOM_SSO__SAML__IDP_METADATA_URL": f"{idp_url}/saml2/idp/metadata.php",
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "strongroom", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "strongroom", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120)
    return proc


class Timed(sso_providers.Browser):
    """A browser-like httpx client that adds up the time of answers from one origin (Strongroom's)."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin
        self.spent = 0.0

    def send(self, request: httpx.Request, **kwargs: object) -> httpx.Response:  # type: ignore[override]
        began = time.perf_counter()
        response = super().send(request, **kwargs)  # type: ignore[arg-type]
        if str(request.url).startswith(self.origin):
            self.spent += time.perf_counter() - began
        return response


def oidc_round_trip(url: str, pid: int, user: str) -> tuple[float, float]:
    with Timed(url) as browser:
        before = cpu_seconds(pid)
        answer = sso_providers.drive_oidc(browser, f"{url}/auth/oidc/start", app_url=url, login=user)
        assert answer.status_code == 303, answer.text[:300]
        return (cpu_seconds(pid) - before) * 1000, browser.spent * 1000


def saml_round_trip(url: str, pid: int, user: str) -> tuple[float, float]:
    with Timed(url) as browser:
        before = cpu_seconds(pid)
        response, relay = sso_providers.saml_response_for(browser, f"{url}/auth/saml/start", user=user)
        before_acs = browser.spent
        answer = browser.post(f"{url}/auth/saml/acs", data={"SAMLResponse": response, "RelayState": relay})
        ACS_WALL.append((browser.spent - before_acs) * 1000)
        assert answer.status_code == 303, answer.text[answer.text.find("<h2>There is a problem") :][:300]
        return (cpu_seconds(pid) - before) * 1000, browser.spent * 1000


ACS_WALL: list[float] = []


def report(name: str, samples: list[tuple[float, float]]) -> None:
    kept = samples[1:] if len(samples) > 1 else samples
    cpu = statistics.median(sample[0] for sample in kept)
    wall = statistics.median(sample[1] for sample in kept)
    # /proc counts CPU time in 10 ms ticks: the mean shows what the median's steps hide.
    mean = statistics.mean(sample[0] for sample in kept)
    print(
        f"{name}: server CPU {cpu:.1f} ms per sign-in (mean {mean:.1f}), Strongroom wall {wall:.1f} ms "
        f"(median of {len(kept)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--saml-only", action="store_true", help="skip the OIDC sign-ins")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sso-") as tmp:
        work = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        key = RSAKey.generate_key(2048, parameters={"kid": "bench"})
        accounts = {
            f"user{i}": {
                "email": f"user{i}@force.police.test",
                "email_verified": True,
                "name": f"User {i}",
                "groups": ["CID", "Major Crime"],
            }
            for i in range(args.runs)
        }
        oidc = sso_providers.start_oidc_provider(
            port=free_port(), app_url=url, signing_key=key, accounts=accounts, log=work / "oidc.log"
        )
        idp_port = free_port()
        idp_dir = work / "idp"
        sso_providers.write_simplesamlphp_config(idp_dir, idp_url=f"http://127.0.0.1:{idp_port}", app_url=url)
        idp = sso_providers.start_simplesamlphp(port=idp_port, config_dir=idp_dir, log=work / "php.log")
        server = start_strongroom(work / "sr", port, oidc.url, idp.url)
        try:
            print(f"load average before: {load_average()}")
            if not args.saml_only:
                oidc_samples = [oidc_round_trip(url, server.pid, f"user{i}") for i in range(args.runs)]
                report("OIDC (first sign-in: account made)", oidc_samples)
                again = [oidc_round_trip(url, server.pid, f"user{i}") for i in range(args.runs)]
                report("OIDC (returning user)", again)
            saml_samples = [saml_round_trip(url, server.pid, "alice") for _ in range(args.runs)]
            report("SAML (returning user after the first)", saml_samples)
            print(f"SAML answer (ACS) alone: wall {statistics.median(ACS_WALL[1:]):.1f} ms")
            print(f"load average after: {load_average()}")
        finally:
            server.terminate()
            server.wait(timeout=15)
            oidc.stop()
            idp.stop()


if __name__ == "__main__":
    main()
