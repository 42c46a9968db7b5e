"""SoftHSM2 tokens for the tests: one token store per test process, a fresh token per test.

SoftHSM reads SOFTHSM2_CONF when the PKCS#11 module is first initialised in a process, so the
store is made once per process (pytest-xdist worker) and each test gets its own token (by label)
in a free slot of it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

MODULE: Final = "/usr/lib/softhsm/libsofthsm2.so"
USER_PIN: Final = "12345678"
SO_PIN: Final = "87654321"
_STORE: dict[str, Path] = {}


@dataclass(frozen=True)
class Token:
    label: str
    conf: Path

    def url(self, *, object_label: str = "kek", pin_file: Path | None = None) -> str:
        pin = f"&pin-source=file:{pin_file}" if pin_file else ""
        return f"pkcs11:token={self.label};object={object_label}?module-path={MODULE}{pin}"

    def environment(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}


def softhsm_available() -> bool:
    return Path(MODULE).exists() and shutil.which("softhsm2-util") is not None


def _store() -> Path:
    if "conf" not in _STORE:
        root = Path(tempfile.mkdtemp(prefix="softhsm-"))
        (root / "tokens").mkdir()
        conf = root / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = false\n",
            encoding="utf-8",
        )
        os.environ["SOFTHSM2_CONF"] = str(conf)
        _STORE["conf"] = conf
    return _STORE["conf"]


def new_token() -> Token:
    if not softhsm_available():
        pytest.fail("SoftHSM2 is not installed: apt-get install softhsm2 (the CI installs it)")
    conf = _store()
    label = f"sr-{secrets.token_hex(4)}"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", USER_PIN],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        check=True,
        capture_output=True,
    )
    return Token(label, conf)
