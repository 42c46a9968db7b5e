"""`strongroom doctor` run as an operator would: one line per check, OK/WARN/FAIL, exit 1 on any FAIL."""

import os
from pathlib import Path

import pytest

from strongroom.config import Settings
from tests.cli.test_server_cli import run_cli

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def _lines(out: str) -> dict[str, str]:
    """`LEVEL  name: message` lines by name (the last one wins), fix lines dropped."""
    found = {}
    for line in out.splitlines():
        level, _, rest = line.partition("  ")
        if level.strip() in {"OK", "WARN", "FAIL"}:
            found[rest.strip().split(":", 1)[0]] = level.strip()
    return found


@pytest.fixture
def installed(settings: Settings) -> Settings:
    """A data dir as a first start leaves it: keys made, a user in the database."""
    run_cli(settings, "users", "create", "officer@force.police.test")
    return settings


def test_a_sound_installation_passes(installed: Settings) -> None:
    result = run_cli(installed, "doctor")
    found = _lines(result.stdout)
    for name in (
        "keys",
        "audit signing key",
        "migrations",
        "clock",
        "blob store",
        "trusted proxies",
        "blob disk",
    ):
        assert found[name] == "OK", result.stdout
    assert found["dev mode"] == "WARN"  # the tests run in dev mode: doctor says so
    # The outside tools this machine has (CI installs them all): previews and reports can be made.
    for tool in ("ffmpeg", "LibreOffice", "report fonts"):
        assert found[tool] == "OK", result.stdout


def test_readable_keys_an_old_schema_and_open_proxies_fail(installed: Settings) -> None:
    installed.key_file.chmod(0o644)
    run_cli(installed, "db", "downgrade", "--", "-1")
    env_proxies = {"STRONGROOM_SERVER__TRUSTED_PROXIES": '["0.0.0.0/0"]'}
    result = run_cli(installed, "doctor", check=False, extra_env=env_proxies)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    found = _lines(result.stdout)
    assert found["key file"] == "FAIL"
    assert f"chmod 600 {installed.key_file}" in result.stdout
    assert found["migrations"] == "FAIL"
    assert "strongroom db upgrade" in result.stdout
    assert found["trusted proxies"] == "FAIL"


def test_missing_keys_and_an_unwritable_blob_store_fail(installed: Settings) -> None:
    installed.key_file.unlink()
    installed.blob_path.rename(installed.blob_path.with_name("moved"))
    installed.blob_path.write_text("a file where the blob directory should be")
    result = run_cli(installed, "doctor", check=False)
    assert result.returncode == 1
    found = _lines(result.stdout)
    assert found["keys"] == "FAIL"
    assert "key escrow" in result.stdout
    assert found["blob store"] == "FAIL"
    assert not installed.key_file.exists()  # doctor never makes keys


@pytest.mark.skipif(
    os.environ.get("STRONGROOM_TEST_DB") != "postgresql", reason="the clock check is PostgreSQL's"
)
@pytest.mark.skipif(not LIBFAKETIME.exists(), reason="needs libfaketime (Debian `faketime`)")
def test_a_host_clock_apart_from_the_database_fails(installed: Settings) -> None:
    fake = {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": "+120s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    result = run_cli(installed, "doctor", check=False, extra_env=fake)
    assert result.returncode == 1
    assert _lines(result.stdout)["clock"] == "FAIL", result.stdout
    assert "NTP" in result.stdout


def test_single_sign_on_without_xmlsec1_fails(installed: Settings, tmp_path: Path) -> None:
    metadata = tmp_path / "idp.xml"
    metadata.write_text("<md:EntityDescriptor/>")
    env = {
        "STRONGROOM_SSO__SAML__IDP_METADATA_FILE": str(metadata),
        "STRONGROOM_SSO__SAML__XMLSEC_BINARY": str(tmp_path / "no-xmlsec1"),
    }
    result = run_cli(installed, "doctor", check=False, extra_env=env)
    assert result.returncode == 1
    assert _lines(result.stdout)["SAML"] == "FAIL"
    assert "xmlsec1" in result.stdout
    fixed = run_cli(
        installed,
        "doctor",
        check=False,
        extra_env={**env, "STRONGROOM_SSO__SAML__XMLSEC_BINARY": "/usr/bin/xmlsec1"},
    )
    assert _lines(fixed.stdout)["SAML"] == "OK"
