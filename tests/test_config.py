from __future__ import annotations

import grp
import logging
import os
import stat
from pathlib import Path

import pytest

from staff_feed_tui.config import ConfigError, load_settings
from staff_feed_tui.services import open_services


def _toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_precedence_cli_over_env_over_toml_over_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _toml(
        tmp_path / "c.toml",
        '[email]\nhost = "toml-host"\nport = 2525\nusername = "toml-user"\n[company]\nname = "Toml Co"\n',
    )
    monkeypatch.setenv("STAFF_FEED_EMAIL__HOST", "env-host")
    monkeypatch.setenv("STAFF_FEED_EMAIL__USERNAME", "env-user")
    settings = load_settings(config, email={"host": "cli-host"})
    assert settings.email.host == "cli-host"  # CLI beats env and TOML
    assert settings.email.username == "env-user"  # env beats TOML
    assert settings.email.port == 2525  # TOML beats the default
    assert settings.company.name == "Toml Co"
    assert settings.email.security == "starttls"  # default
    assert settings.company.text_messaging is False


def test_config_path_from_env_and_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _toml(tmp_path / "env.toml", '[company]\nname = "From Env"\n')
    monkeypatch.setenv("STAFF_FEED_CONFIG", str(config))
    assert load_settings().company.name == "From Env"
    monkeypatch.delenv("STAFF_FEED_CONFIG")
    user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "staff-feed" / "config.toml"
    user_config.parent.mkdir(parents=True)
    _toml(user_config, '[company]\nname = "User Dir"\n')
    assert load_settings().company.name == "User Dir"


def test_data_dir_and_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFF_FEED_DATA_DIR", str(tmp_path / "d"))
    settings = load_settings()
    assert settings.data_dir == tmp_path / "d"
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'staff_feed.db'}"
    monkeypatch.setenv("STAFF_FEED_DATABASE__URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert load_settings().database_url == f"sqlite:///{tmp_path / 'other.db'}"


def test_missing_or_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
    broken = _toml(tmp_path / "broken.toml", "[email\nhost=")
    with pytest.raises(ConfigError, match="invalid"):
        load_settings(broken)
    bad_value = _toml(tmp_path / "bad.toml", '[email]\nsecurity = "ssl3"\n')
    with pytest.raises(ConfigError, match="security"):
        load_settings(bad_value)


def test_secrets_from_files_never_printed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2-very-secret\n")
    config = _toml(tmp_path / "c.toml", f'[email]\npassword_file = "{secret}"\n[sms]\nauth_token = "tok-123456"\n')
    settings = load_settings(config)
    assert settings.email.password is not None
    assert settings.email.password.get_secret_value() == "hunter2-very-secret"
    logging.getLogger("test").info("settings: %r %s", settings, settings)
    for text in (repr(settings), str(settings), caplog.text):
        assert "hunter2" not in text
        assert "tok-123456" not in text


def test_missing_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    config = _toml(tmp_path / "c.toml", f'[email]\npassword_file = "{tmp_path / "absent"}"\n')
    with pytest.raises(ConfigError, match=r"^cannot read email\.password_file .*/absent: No such file or directory$"):
        load_settings(config)


def test_data_dir_is_private_and_database_file_0600(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "private")
    services = open_services(settings, dispatcher="alex")
    try:
        assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
        db = settings.data_dir / "staff_feed.db"
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        for side in ("staff_feed.db-wal", "staff_feed.db-shm"):
            path = settings.data_dir / side
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    finally:
        services.close()


def test_shared_group_gives_group_access(tmp_path: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    settings = load_settings(data_dir=tmp_path / "shared", shared_group=group)
    services = open_services(settings, dispatcher="alex")
    try:
        assert stat.S_IMODE(settings.data_dir.stat().st_mode) & 0o770 == 0o770
        assert stat.S_IMODE((settings.data_dir / "staff_feed.db").stat().st_mode) == 0o660
    finally:
        services.close()


def test_unknown_shared_group_is_a_clear_error(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "shared", shared_group="no-such-group-xyz")
    with pytest.raises(ValueError, match="not a group"):
        open_services(settings)


def test_company_settings_live_only_in_config(services) -> None:  # type: ignore[no-untyped-def]
    """The database keeps no copy of the company section: no table or column holds it."""
    with services.engine.connect() as conn:
        tables = [r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")]
        columns = {
            t: [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({t})")] for t in tables
        }
    assert not any("company" in t for t in tables)
    assert not any("text_messaging" in c or "sms_number" in c for cols in columns.values() for c in cols)
