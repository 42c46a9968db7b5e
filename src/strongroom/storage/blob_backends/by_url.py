"""Open the blob store a URL names: ``file:///path``, ``s3://bucket/prefix``, ``az://container/prefix``.

Endpoints and credentials come from the environment variables each ecosystem already uses, so an
operator configures Strongroom the way they configure every other client of their store:
AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (S3);
AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (Azure).
obstore is imported only when an object store is named: the local folder needs none of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from strongroom.errors import InputError
from strongroom.storage.blob_backends.local import LocalBlobStore

if TYPE_CHECKING:
    from obstore.store import AzureConfig, ClientConfig, RetryConfig, S3Config

    from strongroom.config import Settings
    from strongroom.storage.blob_backends.objects import ObjectBlobStore
    from strongroom.storage.blobs import BlobStore

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's published development key (UseDevelopmentStorage=true): no secret."""


def configured_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name (`blobs.url`, else the local folder `blob_path`)."""
    return open_blob_store(
        settings.blobs.url,
        default_path=settings.blob_path,
        part_size=settings.blobs.part_size_mib << 20,
        concurrency=settings.blobs.upload_concurrency,
    )


def describe_blob_store(settings: Settings) -> str:
    """Where blobs are, for people: the URL without anything secret (credentials never sit in it)."""
    return settings.blobs.url or str(settings.blob_path)


def open_blob_store(
    url: str | None,
    *,
    default_path: Path,
    part_size: int = 8 << 20,
    concurrency: int = 4,
    environ: Mapping[str, str] | None = None,
) -> BlobStore:
    """The blob store `url` names, or the local folder `default_path` when there is no url."""
    if not url:
        return LocalBlobStore(default_path)
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InputError(f"A file:// blob URL names a local folder (file:///path), not {url}.")
        return LocalBlobStore(Path(unquote(parts.path)))
    if scheme not in ("s3", "az", "azure"):
        raise InputError(
            f"Blob URL {url} has scheme {scheme!r}; use file:///path, s3://bucket/prefix or "
            "az://container/prefix.",
            field="blobs.url",
        )
    if not parts.netloc:
        raise InputError(f"Blob URL {url} names no bucket or container.", field="blobs.url")
    prefix = unquote(parts.path).strip("/")
    if scheme == "s3":
        return _object_store(
            _s3(parts.netloc, env), prefix, part_size, concurrency, f"S3 bucket {parts.netloc}"
        )
    return _object_store(
        _azure(parts.netloc, env), prefix, part_size, concurrency, f"Azure container {parts.netloc}"
    )


def _object_store(
    objects: Any,
    prefix: str,
    part_size: int,
    concurrency: int,
    describe: str,
) -> ObjectBlobStore:
    from strongroom.storage.blob_backends.objects import ObjectBlobStore

    return ObjectBlobStore(
        objects, prefix=prefix, part_size=part_size, concurrency=concurrency, describe=describe
    )


def _retry() -> RetryConfig:
    # obstore's default retries for three minutes: a readiness probe or an upload must hear sooner
    # that the store is down, and answer 503.
    return {
        "max_retries": 3,
        "retry_timeout": timedelta(seconds=30),
        "backoff": {
            "init_backoff": timedelta(milliseconds=100),
            "max_backoff": timedelta(seconds=5),
            "base": 2,
        },
    }


def _client_options(endpoint: str | None) -> ClientConfig:
    options: ClientConfig = {"connect_timeout": timedelta(seconds=5), "timeout": timedelta(minutes=5)}
    if endpoint is not None and endpoint.startswith("http://"):
        options["allow_http"] = True  # a store on loopback or a private network (SeaweedFS, MinIO)
    return options


def _s3(bucket: str, env: Mapping[str, str]) -> Any:
    from obstore.store import S3Store

    config: S3Config = {}
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        config["endpoint"] = endpoint
        config["virtual_hosted_style_request"] = False  # path style: what S3-compatible servers take
    if env.get("AWS_ACCESS_KEY_ID"):
        config["access_key_id"] = env["AWS_ACCESS_KEY_ID"]
    if env.get("AWS_SECRET_ACCESS_KEY"):
        config["secret_access_key"] = env["AWS_SECRET_ACCESS_KEY"]
    if env.get("AWS_SESSION_TOKEN"):
        config["session_token"] = env["AWS_SESSION_TOKEN"]
    config["region"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    return S3Store(bucket, config=config, client_options=_client_options(endpoint), retry_config=_retry())


def _azure(container: str, env: Mapping[str, str]) -> Any:
    from obstore.store import AzureStore

    config: AzureConfig = {}
    endpoint: str | None = None
    connection = _parse_connection_string(env.get("AZURE_STORAGE_CONNECTION_STRING", ""))
    if connection.get("usedevelopmentstorage", "").lower() == "true":
        connection = {
            "accountname": AZURITE_ACCOUNT,
            "accountkey": AZURITE_KEY,
            "blobendpoint": f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}",
        }
    account = connection.get("accountname") or env.get("AZURE_STORAGE_ACCOUNT_NAME")
    key = connection.get("accountkey") or env.get("AZURE_STORAGE_ACCOUNT_KEY")
    if account:
        config["account_name"] = account
    if key:
        config["account_key"] = key
    if connection.get("sharedaccesssignature"):
        config["sas_key"] = connection["sharedaccesssignature"]
    endpoint = connection.get("blobendpoint") or env.get("AZURE_STORAGE_ENDPOINT")
    if endpoint:
        config["endpoint"] = endpoint.rstrip("/")
    return AzureStore(
        container, config=config, client_options=_client_options(endpoint), retry_config=_retry()
    )


def _parse_connection_string(text: str) -> dict[str, str]:
    """`Name=value;...` as Azure tools write it (values may hold '=', as base64 keys do)."""
    pairs: dict[str, str] = {}
    for item in text.split(";"):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            pairs[name.strip().lower()] = value.strip()
    return pairs
