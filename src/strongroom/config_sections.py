"""Settings sections for storage, the server, mail, content work and sharing (`Settings` in `config`)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator


class DatabaseSettings(BaseModel):
    """Where metadata lives: SQLite in the data dir by default, or PostgreSQL."""

    url: str | None = None
    """SQLAlchemy URL; default `sqlite:///<data_dir>/strongroom.db`. PostgreSQL: `postgresql+psycopg://...`."""
    pool_size: int = 10


class LocalBlobs(BaseModel):
    """Where encrypted blobs live: a local directory (default `<data_dir>/blobs`) or an object store.

    `url` (`STRONGROOM_BLOBS__URL`) chooses: `file:///path`, `s3://bucket/prefix` or
    `az://container/prefix`. Endpoints and credentials come from the variables each ecosystem already
    uses (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION;
    AZURE_STORAGE_CONNECTION_STRING), never from this file.
    """

    backend: Literal["local"] = "local"
    path: Path | None = None
    url: str | None = None
    part_size_mib: int = Field(default=8, ge=5, le=512)
    """Object stores: bytes per multipart part (S3) or block (Azure); S3 refuses parts under 5 MiB."""
    upload_concurrency: int = Field(default=4, ge=1, le=64)
    """Object stores: parts of one upload in flight at once (memory per upload: this times part_size)."""


# Not a discriminated union: a tag-less dict from the environment (STRONGROOM_BLOBS__URL alone) must load.
BlobSettings = LocalBlobs


class KeySettings(BaseModel):
    """Where the key-encryption keys are: a local key file (0600, generated on first start) by
    default, or a PKCS#11 token (an HSM) when `url` names one."""

    url: str | None = None
    """`pkcs11:token=<label>;object=<key label>?module-path=<module.so>[&pin-source=file:<path>]`
    (RFC 7512) keeps the KEKs in that token; unset keeps them in the key file at `path`."""
    pin: str | None = Field(default=None, repr=False)
    """The token's user PIN, when the URL has no pin-source (STRONGROOM_KEYS__PIN)."""
    path: Path | None = None
    """Default `<data_dir>/keys.json`."""
    signing_key_path: Path | None = None
    """The audit signing key's own file, apart from the data keys; default
    `<data_dir>/audit-signing-key.json`. Put it where the web server's account cannot write."""
    retire_grace_seconds: int = Field(default=3600, ge=0)
    """How long a superseded key-encryption key is kept after a rotation before it may be retired
    (and only once nothing is wrapped with it any more)."""
    unwrap_cache_seconds: float = Field(default=30, ge=0, le=60)
    """How long an unwrapped data key is kept in memory for further reads of its file. This bounds
    the kill switch: once the force disables or withdraws its key, every read fails within it."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str | None) -> str | None:
        if url and not url.startswith("pkcs11:"):
            msg = "keys.url must be a PKCS#11 URI (pkcs11:token=...;object=...?module-path=...)"
            raise ValueError(msg)
        return url


class LimitSettings(BaseModel):
    """Documented limits; each answers a clear 4xx when broken."""

    max_upload_bytes: int = 1 << 40
    """Largest single file accepted (default 1 TiB)."""
    max_name_bytes: int = 255
    """Longest file or folder name, in UTF-8 bytes."""
    max_path_depth: int = 64
    """Deepest folder nesting below a root."""
    page_size_max: int = 1000
    """Largest page a listing returns."""
    segment_bytes: int = 1 << 20
    """Plaintext bytes per encrypted segment of a blob."""
    max_open_uploads_per_user: int = Field(default=100, ge=1)
    """Resumable (tus) uploads one user may have started and not finished; more answer 429
    `open_uploads_limit` until some finish, are terminated or expire."""
    max_open_upload_bytes_per_user: int = Field(default=1 << 42, ge=1)
    """Total declared size of one user's unfinished resumable uploads (default 4 TiB); more answer 429
    `open_upload_bytes_limit`."""


class TrashSettings(BaseModel):
    """How long trashed items stay restorable before they are purged."""

    retention_days: int = 30


class ServerSettings(BaseModel):
    """The HTTP server started by `strongroom serve`."""

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    """External base URL used in links and e-mails; default `http://<host>:<port>`."""
    trusted_proxies: list[str] = []
    """Reverse proxies (IP addresses or CIDR networks) whose `X-Forwarded-For` is believed; from any
    other peer the socket's address is the client's. Empty (the default): no proxy is trusted."""
    header_timeout_seconds: float = Field(default=20.0, gt=0)
    """A request's line and headers must arrive within this time of its first byte (or of the
    connection opening), or the connection is closed: slow header senders cannot hold sockets."""
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    """The window over which a request body's arrival rate is checked (see `body_min_rate_bytes`)."""
    body_min_rate_bytes: int = Field(default=500, ge=0)
    """Bytes per second a request body must average over each `body_timeout_seconds` window while the
    server is ready to read, or the connection is closed (Apache mod_reqtimeout's MinRate)."""

    access_log: bool = False
    """One log line per request (method, path, status, bytes, duration, client, request id). Off by
    default: turn it on where stderr goes to a collector (journald, a container runtime)."""
    log_format: Literal["json", "text"] = "json"
    """`strongroom serve` and `strongroom worker` log JSON lines (searchable by request id) or text."""
    engine: Literal["uvicorn", "granian"] = "uvicorn"
    """The HTTP server `strongroom serve` runs the app on. uvicorn (the default) enforces the header
    deadline and the body rate above; granian only the header deadline (bench/README.md compares them)."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                msg = f"trusted_proxies: {entry!r} is not an IP address or CIDR network"
                raise ValueError(msg) from exc
        return [entry.strip() for entry in value]


class MailSettings(BaseModel):
    """SMTP for one-time codes, receipts and notifications."""

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    """Upgrade the connection with STARTTLS (port 587); the server's certificate and name are checked."""
    smtps: bool = False
    """Speak TLS from the first byte (SMTPS, port 465); the server's certificate and name are checked."""
    ca_file: Path | None = None
    """PEM file of the CA that signed the mail server's certificate (the force's own CA); default: the
    system's trusted CAs."""
    sender: str = "strongroom@localhost"

    @model_validator(mode="after")
    def _one_kind_of_tls(self) -> MailSettings:
        if self.starttls and self.smtps:
            msg = "mail: choose starttls (port 587) or smtps (port 465), not both"
            raise ValueError(msg)
        return self


class SkillSettings(BaseModel):
    """Skills that read, listen and look at stored content (text, OCR, transcripts, faces and plates)."""

    enabled: list[str] = ["text", "ocr", "transcript", "detections"]
    """Which skills run after an upload; `strongroom` runs none of the others."""
    ocr_languages: str = "eng"
    """Tesseract language packs to read with (`eng`, `eng+cym`); each must be installed."""
    whisper_model_path: str | None = None
    """A faster-whisper (CTranslate2) model directory; unset: pocketsphinx's bundled English model."""
    frame_every_seconds: float = 1.0
    """How often a video frame is looked at for faces and number plates."""
    max_pages: int = 200
    """Pages of a scanned PDF that are read by OCR; the rest are left, and the card says so."""
    timeout_seconds: float = 1800.0
    """Wall-clock limit of one tool run (pdftotext, tesseract, ffmpeg) inside a skill."""


class ScanSettings(BaseModel):
    """Virus scanning of bytes from outside the force (upload requests) by ClamAV's clamd."""

    clamd: str | None = None
    """clamd address: `host:port` (TCP) or an absolute path to its unix socket. Without it, files from
    outside stay `pending` (never served) until a scanner is configured."""
    timeout_seconds: float = 120.0
    required_for_external: bool = True
    """Files arriving through upload requests are held as `pending` until a scan passes."""
    stream_max_bytes: int = 25 * 1024 * 1024
    """The most bytes clamd accepts in one scan: keep equal to clamd.conf's `StreamMaxLength`
    (ClamAV's default is 25M). A larger file is handled by `large_files`."""
    large_files: Literal["hold", "scan_start"] = "hold"
    """Files over `stream_max_bytes`: `hold` keeps them unreadable ("too large to scan") until clamd's
    limit is raised and `strongroom scan --rescan` passes them; `scan_start` scans the first
    `stream_max_bytes` and releases the file if that part is clean (the scan detail says so)."""
    retry_first_seconds: float = 30.0
    """Wait before the first retry while the scanner is unavailable; doubles on each retry."""
    retry_max_seconds: float = 3600.0
    """Longest wait between retries: files are retried at least this often until the scanner returns."""


class PreviewSettings(BaseModel):
    """Limits on the locked-down ffmpeg run that makes preview renditions of uploaded media."""

    timeout_seconds: float = 3600.0
    """Wall-clock limit of one ffmpeg run; on expiry it is killed and the item shows no preview."""
    cpu_seconds: int = 7200
    """CPU-time limit (RLIMIT_CPU) of one ffmpeg run."""
    memory_bytes: int = 4 << 30
    """Address-space limit (RLIMIT_AS) of one ffmpeg run."""
    max_output_bytes: int = 16 << 30
    """Largest rendition ffmpeg may write (RLIMIT_FSIZE)."""
    threads: int = 2
    """Threads one ffmpeg run may use for decoding and encoding."""


class SharingSettings(BaseModel):
    """Shared links and upload requests."""

    allowed_recipient_domains: list[str] = []
    """E-mail domains that link recipients may belong to (e.g. `cps.gov.uk`); empty allows any."""
    password_failures_per_link: int = 10
    """Wrong passwords or codes for one link within `throttle_window_seconds` before it is paused."""
    password_failures_per_ip: int = 20
    """Wrong passwords or codes from one IP address within the window, over all links."""
    throttle_window_seconds: int = 900
    link_guesses_per_ip: int = 30
    """Link tokens that open nothing, from one IP address within the window, before that address's
    link lookups answer 429 until the window ends (audited once per address and window)."""
    abandoned_submission_hours: int = Field(default=72, ge=1)
    """An upload-request submission still incomplete this long after it started is abandoned: the worker
    and `strongroom gc` remove its received chunks (the submission's record and audit events stay)."""
    force_name: str = ""
    """The organisation links come from, named on link pages and in link mails (e.g. `Kent Police`)."""
    notify_every_seconds: int = Field(default=900, ge=60)
    """How often an owner who asked to hear about a link's opens and downloads gets one batched mail."""
    resume_hours: int = Field(default=12, ge=1, le=24 * 7)
    """For this long after a counted download, the same visitor's Range requests for the same file
    (seeking a video, resuming a broken download) count as that one download."""
    max_zip_files: int = Field(default=10_000, ge=1)
    """The most files one zip of a folder or a selection may hold."""


class AuditSettings(BaseModel):
    """The audit trail: signed checkpoints, their outside witnesses, and when a reason is required."""

    checkpoint_every_seconds: int = 600
    """How often the worker signs a checkpoint (only when new events arrived)."""
    origin: str | None = None
    """The log's name in signed checkpoints; default `<public_url>/audit`."""
    witness_file: Path | None = None
    """Append every new checkpoint (one JSON line) to this file, e.g. on another machine's share."""
    witness_syslog: str | None = None
    """Send every new checkpoint as an RFC 5424 message over UDP to `host:port`."""
    reason_required_for: list[str] = ["SECRET"]
    """Classifications whose content may be read or disclosed only with a stated reason
    (`X-Strongroom-Reason`); a read without one answers 428 `reason_required`."""


class IdempotencySettings(BaseModel):
    """How long the answer to a request with an `Idempotency-Key` is kept for its retries."""

    key_lifetime_hours: int = Field(default=24, ge=1, le=24 * 30)
    """A retry within this many hours gets the first answer; after it, the key may be used afresh."""


class ScrubSettings(BaseModel):
    """The worker's background integrity scrub of every stored blob (versions and renditions)."""

    bytes_per_second: int = Field(default=20 << 20, ge=1)
    """Blob bytes the scrub reads per second at most, so that it never starves downloads."""
    bytes_per_run: int = Field(default=1 << 30, ge=1)
    """Bytes one periodic run checks before it stops and remembers where it got to."""
