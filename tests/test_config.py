from pathlib import Path

import pytest

from strongroom.config import Settings


def test_settings_come_from_env_and_toml_and_env_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "strongroom.toml"
    toml.write_text(
        'data_dir = "/srv/toml"\n[limits]\nmax_upload_bytes = 1234\n[trash]\nretention_days = 7\n'
    )
    monkeypatch.setenv("STRONGROOM_CONFIG", str(toml))
    monkeypatch.setenv("STRONGROOM_TRASH__RETENTION_DAYS", "90")
    settings = Settings()
    assert settings.limits.max_upload_bytes == 1234
    assert settings.data_dir == Path("/srv/toml")
    assert settings.trash.retention_days == 90


def test_plain_http_public_url_is_refused_outside_dev_mode_and_warns_inside() -> None:
    with pytest.raises(ValueError, match="plain HTTP"):
        Settings(server={"public_url": "http://evidence.force.example"})  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="plain HTTP"):
        Settings(dev_mode=True, server={"public_url": "http://evidence.force.example"})  # type: ignore[arg-type]
    assert (
        Settings(server={"public_url": "https://evidence.force.example"}).public_url
        == "https://evidence.force.example"
    )  # type: ignore[arg-type]


def test_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    key_file.write_text("{}")
    key_file.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        Settings(data_dir=tmp_path)


def test_unknown_settings_are_an_error_not_ignored() -> None:
    with pytest.raises(ValueError, match="extra"):
        Settings(max_uplaod_bytes=5)  # type: ignore[call-arg]
