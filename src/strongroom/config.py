"""Settings: the only place that reads the environment.

Values come from `STRONGROOM_*` variables (nested with `__`, e.g. `STRONGROOM_LIMITS__MAX_UPLOAD_BYTES`)
and from a TOML file named by `STRONGROOM_CONFIG`. Settings are built once by `strongroom serve`,
`worker` or the tests, and passed in; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The sections live beside this module; they are imported from here (`strongroom.config`) by callers.
from strongroom.config_sections import (
    AuditSettings,
    BlobSettings,
    DatabaseSettings,
    IdempotencySettings,
    KeySettings,
    LimitSettings,
    LocalBlobs,
    MailSettings,
    PreviewSettings,
    ScanSettings,
    ScrubSettings,
    ServerSettings,
    SharingSettings,
    SkillSettings,
    TrashSettings,
)
from strongroom.config_sign_in import AccountSettings, OidcSettings, SamlSettings, SsoSettings

__all__ = [
    "AccountSettings",
    "AuditSettings",
    "BlobSettings",
    "DatabaseSettings",
    "IdempotencySettings",
    "KeySettings",
    "LimitSettings",
    "LocalBlobs",
    "MailSettings",
    "OidcSettings",
    "PreviewSettings",
    "SamlSettings",
    "ScanSettings",
    "ScrubSettings",
    "ServerSettings",
    "Settings",
    "SharingSettings",
    "SkillSettings",
    "SsoSettings",
    "TrashSettings",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STRONGROOM_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    dev_mode: bool = False
    """Development mode: insecure settings (plain HTTP links, readable key files) only warn."""
    data_dir: Path = Path("./strongroom-data")
    secret_key: str = ""
    """Signs session cookies and CSRF tokens. Generated into the data dir when empty."""
    database: DatabaseSettings = DatabaseSettings()
    blobs: BlobSettings = LocalBlobs()
    keys: KeySettings = KeySettings()
    limits: LimitSettings = LimitSettings()
    trash: TrashSettings = TrashSettings()
    server: ServerSettings = ServerSettings()
    mail: MailSettings = MailSettings()
    audit: AuditSettings = AuditSettings()
    scan: ScanSettings = ScanSettings()
    previews: PreviewSettings = PreviewSettings()
    sharing: SharingSettings = SharingSettings()
    idempotency: IdempotencySettings = IdempotencySettings()
    scrub: ScrubSettings = ScrubSettings()
    sso: SsoSettings = SsoSettings()
    accounts: AccountSettings = AccountSettings()
    skills: SkillSettings = SkillSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("STRONGROOM_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    @model_validator(mode="after")
    def _refuse_insecure(self) -> Settings:
        problems = []
        public = self.public_url
        if not public.startswith("https://") and not _is_loopback_url(public):
            problems.append(f"public_url {public} is plain HTTP: shared links would travel unencrypted")
        key_path = self.key_file
        if key_path.exists() and key_path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"key file {key_path} is readable by other users; chmod 600 it")
        signing_path = self.signing_key_file
        if signing_path.exists() and signing_path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"audit signing key file {signing_path} is readable by other users; chmod 600 it")
        if problems and not self.dev_mode:
            raise ValueError("insecure settings refused outside dev mode: " + "; ".join(problems))
        for problem in problems:
            warnings.warn(f"dev mode: {problem}", UserWarning, stacklevel=2)
        return self

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'strongroom.db').resolve()}"

    @property
    def blob_path(self) -> Path:
        """The local blob folder (`blobs.url` file:///path, else `blobs.path`, else `<data_dir>/blobs`)."""
        if self.blobs.url and self.blobs.url.lower().startswith("file:"):
            return Path(unquote(urlsplit(self.blobs.url).path))
        return self.blobs.path or self.data_dir / "blobs"

    @property
    def blobs_in_object_store(self) -> bool:
        """Whether blobs live in S3 or Azure (no local folder to back up, measure or lock)."""
        return bool(self.blobs.url) and not self.blob_path_is_local_url

    @property
    def blob_path_is_local_url(self) -> bool:
        return (self.blobs.url or "").lower().startswith("file:")

    @property
    def key_file(self) -> Path:
        return self.keys.path or self.data_dir / "keys.json"

    @property
    def signing_key_file(self) -> Path:
        return self.keys.signing_key_path or self.data_dir / "audit-signing-key.json"

    @property
    def public_url(self) -> str:
        url = self.server.public_url or f"http://{self.server.host}:{self.server.port}"
        return url.rstrip("/")


def _is_loopback_url(url: str) -> bool:
    return any(url.startswith(f"http://{host}") for host in ("127.", "localhost", "[::1]"))
