"""Several processes over one key file: first start, a rotation seen by the others, an upload across it."""

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from strongroom.runtime import stored_secret
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.key_providers.signing_file import FileAuditSigningKey
from strongroom.storage.keys import new_data_key
from strongroom.storage.sealed_blobs import SealedBlobWriter, read_plaintext

STARTERS = 6


def _start(path: str, barrier: Barrier, results: "multiprocessing.Queue[tuple[str, str, str]]") -> None:
    barrier.wait()
    data_dir = Path(path).parent
    kek = FileKeyProvider.open(Path(path)).current_kek_id()
    signing = FileAuditSigningKey.open(data_dir / "audit-signing-key.json").public_key().hex()
    results.put((kek, signing, stored_secret(data_dir / "secret_key")))


def test_processes_starting_on_an_empty_data_dir_end_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys.json"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(STARTERS)
    results: multiprocessing.Queue[tuple[str, str, str]] = ctx.Queue()
    procs = [ctx.Process(target=_start, args=(str(path), barrier, results)) for _ in range(STARTERS)]
    for proc in procs:
        proc.start()
    seen = {results.get(timeout=120) for _ in procs}
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert len(seen) == 1  # one KEK, one signing key, one session secret
    assert FileKeyProvider.open(path, create=False).kek_ids() == [next(iter(seen))[0]]


def test_a_process_meets_a_key_made_by_another(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    server, cli = FileKeyProvider.open(path), FileKeyProvider.open(path)
    new = cli.add_kek()
    wrapped = cli.wrap_data_key(dek := new_data_key(), context=b"blob-1")
    assert wrapped.kek_id == new
    assert server.unwrap_data_key(wrapped, context=b"blob-1") == dek  # read from the new generation
    assert server.wrap_data_key(new_data_key(), context=b"blob-2").kek_id == new  # and wraps with it


def test_an_upload_that_began_before_a_rotation_ends_wrapped_with_the_new_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    server, cli = FileKeyProvider.open(path), FileKeyProvider.open(path)
    old = server.current_kek_id()
    store = LocalBlobStore(tmp_path / "blobs")
    writer = SealedBlobWriter(store=store, keys=server, aad_id=b"ver-1", segment_size=1024)
    writer.write(b"x" * 5000)
    new = cli.add_kek()
    writer.write(b"y" * 10)
    sealed = writer.finish()
    assert sealed.wrapped_dek.kek_id == new
    cli.retire_kek(old)
    plain = b"".join(
        read_plaintext(
            store=store,
            keys=FileKeyProvider.open(path),
            blob_key=sealed.blob_key,
            wrapped_dek=sealed.wrapped_dek,
            aad_id=b"ver-1",
            plaintext_size=sealed.size,
        )
    )
    assert plain == b"x" * 5000 + b"y" * 10
