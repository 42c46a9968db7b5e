"""Pkcs11KeyProvider against a real SoftHSM2 token: the KEK stays inside, rotation, the kill switch,
outages and reconnection."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.support.softhsm import MODULE, USER_PIN, Token, new_token
from tests.support.users import UserFixture

from strongroom.content import maintenance
from strongroom.content.models import FileVersion
from strongroom.db.session import transaction
from strongroom.errors import Conflict, NotFound
from strongroom.runtime import Runtime
from strongroom.storage.key_providers import pkcs11_uri
from strongroom.storage.key_providers.pkcs11 import Pkcs11KeyProvider
from strongroom.storage.keys import (
    KeyProvider,
    KeyProviderUnavailable,
    KeyUnavailable,
    WrappedKey,
    new_data_key,
)


@pytest.fixture
def token() -> Token:
    return new_token()


@pytest.fixture
def provider(token: Token) -> Pkcs11KeyProvider:
    return Pkcs11KeyProvider.open(pkcs11_uri.parse(token.url(), pin=USER_PIN))


def _in_other_process(token: Token, body: str) -> str:
    """Run `body` with `key` (the token's KEK objects) in a separate process, as an HSM admin's tool would."""
    script = textwrap.dedent(
        f"""
        import pkcs11
        from pkcs11 import Attribute, ObjectClass
        token = pkcs11.lib({MODULE!r}).get_token(token_label={token.label!r})
        with token.open(user_pin={USER_PIN!r}, rw=True) as session:
            query = {{Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: "kek"}}
            keys = list(session.get_objects(query))
        """
    ) + textwrap.indent(textwrap.dedent(body), " " * 4)
    done = subprocess.run(
        [sys.executable, "-c", script], env=token.environment(), capture_output=True, text=True, check=True
    )
    return done.stdout


def test_is_a_key_provider_and_round_trips(provider: Pkcs11KeyProvider) -> None:
    as_protocol: KeyProvider = provider
    dek = new_data_key()
    wrapped = as_protocol.wrap_data_key(dek, context=b"blob-1")
    assert wrapped.kek_id == provider.current_kek_id()
    assert dek not in wrapped.ciphertext
    assert provider.unwrap_data_key(wrapped, context=b"blob-1") == dek


def test_the_kek_cannot_leave_the_token(token: Token, provider: Pkcs11KeyProvider) -> None:
    out = _in_other_process(
        token,
        """
        for key in keys:
            print(key[Attribute.SENSITIVE], key[Attribute.EXTRACTABLE], key[Attribute.NEVER_EXTRACTABLE])
        """,
    )
    assert out.split() == ["True", "False", "True"]


def test_a_wrapped_key_opens_only_for_its_blob(provider: Pkcs11KeyProvider) -> None:
    wrapped = provider.wrap_data_key(new_data_key(), context=b"blob-1")
    with pytest.raises(KeyUnavailable, match="another blob"):
        provider.unwrap_data_key(wrapped, context=b"blob-2")
    bad = bytearray(wrapped.ciphertext)
    bad[5] ^= 1
    with pytest.raises(KeyUnavailable):
        provider.unwrap_data_key(WrappedKey(wrapped.kek_id, bytes(bad)), context=b"blob-1")


def test_rotation_and_retirement(provider: Pkcs11KeyProvider) -> None:
    dek = new_data_key()
    old = provider.wrap_data_key(dek, context=b"b")
    new_id = provider.add_kek()
    assert provider.current_kek_id() == new_id
    assert provider.kek_ids() == [old.kek_id, new_id]
    first, second = provider.keks()
    assert first.superseded_at is not None
    assert not first.current
    assert second.current
    assert provider.wrap_data_key(dek, context=b"b").kek_id == new_id
    assert provider.unwrap_data_key(old, context=b"b") == dek  # superseded still unwraps
    with pytest.raises(Conflict):
        provider.retire_kek(new_id)
    provider.retire_kek(old.kek_id)
    with pytest.raises(NotFound):
        provider.retire_kek(old.kek_id)
    with pytest.raises(KeyProviderUnavailable, match="not in the token"):
        provider.unwrap_data_key(old, context=b"b")


def test_a_kek_added_by_another_process_is_used_for_wrapping_within_a_second(token: Token) -> None:
    location = pkcs11_uri.parse(token.url(), pin=USER_PIN)
    server, cli = Pkcs11KeyProvider.open(location), Pkcs11KeyProvider(location)
    before = server.wrap_data_key(new_data_key(), context=b"x").kek_id
    added = cli.add_kek()
    assert added != before
    assert server.current_kek_id() == added
    time.sleep(1.1)  # the provider lists the token's keys again at most every second
    assert server.wrap_data_key(new_data_key(), context=b"x").kek_id == added


def test_kill_switch_and_restore(token: Token, provider: Pkcs11KeyProvider) -> None:
    """The force disables its key in the HSM (from its own tool): reads stop with a clear code; it
    enables it again: reads work again, with no restart."""
    dek = new_data_key()
    wrapped = provider.wrap_data_key(dek, context=b"b")
    _in_other_process(token, "for key in keys: key[Attribute.UNWRAP] = False")
    with pytest.raises(KeyProviderUnavailable) as refused:
        provider.unwrap_data_key(wrapped, context=b"b")
    assert refused.value.code == "key_provider_unavailable"
    _in_other_process(token, "for key in keys: key[Attribute.UNWRAP] = True")
    provider._failed_at = 0.0
    assert provider.unwrap_data_key(wrapped, context=b"b") == dek


def test_closed_session_reconnects(provider: Pkcs11KeyProvider) -> None:
    dek = new_data_key()
    wrapped = provider.wrap_data_key(dek, context=b"b")
    provider._session.close()
    assert provider.unwrap_data_key(wrapped, context=b"b") == dek


def test_wrong_pin_is_unavailable_not_a_crash(token: Token) -> None:
    with pytest.raises(KeyProviderUnavailable, match="PinIncorrect"):
        Pkcs11KeyProvider.open(pkcs11_uri.parse(token.url(), pin="00000000"))


def test_uri_parsing(tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text("4321\n", encoding="utf-8")
    location = pkcs11_uri.parse(
        f"pkcs11:token=Force%20HSM;object=kek?module-path=/x/y.so&pin-source=file:{pin_file}"
    )
    assert (location.token_label, location.key_label, location.module_path, location.pin) == (
        "Force HSM",
        "kek",
        "/x/y.so",
        "4321",
    )
    assert "4321" not in location.describe()
    for bad in [
        "pkcs11:object=kek?module-path=/x",
        "pkcs11:token=t;object=k",
        "pkcs11:token=t;object=k;colour=red",
    ]:
        with pytest.raises(pkcs11_uri.KeyUrlInvalid):
            pkcs11_uri.parse(bad, pin="1")
    with pytest.raises(pkcs11_uri.KeyUrlInvalid, match="No HSM PIN"):
        pkcs11_uri.parse("pkcs11:token=t;object=k?module-path=/x")


def test_a_rotation_stopped_by_an_outage_resumes_where_it_stopped(
    provider: Pkcs11KeyProvider, runtime: Runtime, client: TestClient, alice: UserFixture
) -> None:
    """The HSM goes away halfway through re-wrapping; what was re-wrapped is kept, and `--resume`
    finishes with the same new key instead of making another."""
    file_id = client.put("/api/v1/folders/root/files/a.bin", content=b"a", headers=alice.headers).json()["id"]
    old = provider.current_kek_id()
    with transaction(runtime.sessions) as session:
        first = session.scalars(select(FileVersion).where(FileVersion.file_id == file_id)).one()
        context = first.blob_key.encode()
        dek = runtime.keys.unwrap_data_key(WrappedKey(first.kek_id, first.wrapped_dek), context=context)
        moved = provider.wrap_data_key(dek, context=context)  # the whole store now on the HSM
        first.kek_id, first.wrapped_dek = moved.kek_id, moved.ciphertext
        for n in range(maintenance.REWRAP_BATCH + 20):
            blob_key = f"blob-{n:05d}"
            wrapped = provider.wrap_data_key(new_data_key(), context=blob_key.encode())
            session.add(
                FileVersion(
                    id=f"ver_rotation{n:05d}",
                    file_id=file_id,
                    number=n + 2,
                    size=1,
                    sha256="0" * 64,
                    blob_key=blob_key,
                    sealed_for_id=f"ver_rotation{n:05d}",
                    segment_size=65536,
                    kek_id=wrapped.kek_id,
                    wrapped_dek=wrapped.ciphertext,
                    created_at=runtime.clock.now(),
                    created_by_label="test",
                )
            )

    class FailsAfter:
        """The real provider, until the HSM 'goes away' after a number of unwraps."""

        def __init__(self, inner: Pkcs11KeyProvider, allowed: int) -> None:
            self.inner, self.allowed = inner, allowed

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        def unwrap_data_key(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
            self.allowed -= 1
            if self.allowed < 0:
                provider.close()
                provider._failed_at = time.monotonic()
                return provider.unwrap_data_key(wrapped, context=context)
            return self.inner.unwrap_data_key(wrapped, context=context)

    with pytest.raises(KeyProviderUnavailable):
        maintenance.rotate_keys(
            runtime.sessions,
            FailsAfter(provider, maintenance.REWRAP_BATCH + 10),  # type: ignore[arg-type]
            clock=runtime.clock,
            retire_old=False,
        )
    provider._failed_at = 0.0  # the HSM is back
    new = provider.current_kek_id()
    assert new != old
    assert maintenance.count_wrapped_with(runtime.sessions, new, [FileVersion]) == maintenance.REWRAP_BATCH
    done = maintenance.rotate_keys(
        runtime.sessions, provider, clock=runtime.clock, retire_old=False, resume=True
    )
    assert done.new_kek_id == new
    assert provider.kek_ids() == [old, new]
    assert maintenance.count_wrapped_with(runtime.sessions, old, [FileVersion]) == 0
    assert (
        maintenance.count_wrapped_with(runtime.sessions, new, [FileVersion]) == maintenance.REWRAP_BATCH + 21
    )


def test_a_token_taken_away_and_brought_back(
    token: Token, provider: Pkcs11KeyProvider, tmp_path: Path
) -> None:
    dek = new_data_key()
    wrapped = provider.wrap_data_key(dek, context=b"b")
    token_dirs = Path(token.conf.read_text(encoding="utf-8").split("=", 1)[1].split("\n", 1)[0].strip())
    mine = next(d for d in token_dirs.iterdir() if token.label.encode() in (d / "token.object").read_bytes())
    away = tmp_path / "away"
    mine.rename(away)
    with pytest.raises(KeyProviderUnavailable) as refused:
        provider.unwrap_data_key(wrapped, context=b"b")
    assert "NoSuchToken" in refused.value.message
    away.rename(mine)
    provider._failed_at = 0.0
    assert provider.unwrap_data_key(wrapped, context=b"b") == dek
