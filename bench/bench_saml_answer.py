"""Where a SAML answer's server time goes (issue 16): `SamlClient.answer()` alone, in process, with
pysaml2's xmlsec1-binary backend and with the in-process one (identity.saml_crypto), plus a cProfile.

    .venv/bin/python bench/bench_saml_answer.py [--runs 30] [--profile]

Starts SimpleSAMLphp (as the tests do), gets one genuine answer to a request made by an in-process
SamlClient, then checks that same answer `--runs` times with each backend (answer() neither uses up the
request nor remembers the assertion: web.pages.sso does that). CPU time is this process's plus its
waited-for children's (the xmlsec1 runs), from os.times(); median per answer, first run discarded.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from common import free_port, load_average  # noqa: E402
from saml2.sigver import CryptoBackendXmlSec1  # noqa: E402
from tests.support import sso_providers  # noqa: E402

from strongroom.config import SamlSettings  # noqa: E402
from strongroom.identity.saml import SamlClient  # noqa: E402
from strongroom.identity.saml_crypto import InProcessXmlSec  # noqa: E402


def cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def measure(client: SamlClient, response: str, request_id: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        began = cpu()
        client.answer(response, request_id=request_id)
        samples.append((cpu() - began) * 1000)
    return statistics.median(samples[1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-saml-") as tmp:
        work = Path(tmp)
        app_url = f"http://127.0.0.1:{free_port()}"
        idp_port = free_port()
        sso_providers.write_simplesamlphp_config(
            work, idp_url=f"http://127.0.0.1:{idp_port}", app_url=app_url
        )
        idp = sso_providers.start_simplesamlphp(port=idp_port, config_dir=work, log=work / "php.log")
        try:
            settings = SamlSettings(idp_metadata_url=f"{idp.url}/saml2/idp/metadata.php")
            client = SamlClient(settings, public_url=app_url)
            started = client.start(relay_state="bench")
            with sso_providers.browser_client() as browser:
                response, _ = sso_providers.saml_response_for(browser, started.url, user="alice")
            print(f"load average before: {load_average()}")
            sec = client.client().sec
            sec.crypto = CryptoBackendXmlSec1(str(settings.xmlsec_binary))
            binary = measure(client, response, started.request_id, args.runs)
            sec.crypto = InProcessXmlSec()
            in_process = measure(client, response, started.request_id, args.runs)
            print(f"answer() with the xmlsec1 binary: {binary:.1f} ms CPU (median of {args.runs - 1})")
            print(f"answer() in process:              {in_process:.1f} ms CPU (median of {args.runs - 1})")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.runs):
                    client.answer(response, request_id=started.request_id)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            print(f"load average after: {load_average()}")
        finally:
            idp.stop()


if __name__ == "__main__":
    main()
