"""Settings: CLI flags > env `STAFF_FEED_*` (nested with `__`) > TOML file > defaults.

Nothing is read at import time. `load_settings` is called by the CLI (or a test) and the result is passed down.
Secrets are `SecretStr`, so they never print in a repr or a log line; each may instead be given as `<key>_file`.
Nothing is wrong in silence: an unknown key, or one in the wrong section, is refused with its line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from staff_feed_tui.core.db_url import normalize_url, redact_url
from staff_feed_tui.core.toml_lines import key_lines

APP_NAME = "staff-feed"
# Searched after the user's own file, so one file can serve every account on a host (and root's admin commands).
SYSTEM_CONFIG_PATH = Path("/etc/staff-feed/config.toml")
# (section, key) of each secret that may be given as `<key>_file`.
SECRET_KEYS = (
    ("email", "password"), ("sms", "auth_token"), ("gateway", "media_secret"), ("inbound_email", "password"),
    ("database", "password"),
)


class ConfigError(ValueError):
    """A configuration problem, worded for the operator."""


class Section(BaseModel):
    """A `[section]` of the file: a key it does not have is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


class CompanySettings(Section):
    name: str = "Our Company"
    text_messaging: bool = False
    sms_number: str | None = None
    # The region used to read staff phone numbers written without a country code.
    default_region: str = "US"


class EmailSettings(Section):
    transport: Literal["smtp", "file"] = "smtp"
    host: str = "localhost"
    port: int | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    from_address: str = "dispatch@example.com"
    reply_domain: str | None = None
    # Total size of a message's attachments when sent by email.
    max_attachment_bytes: int = 20 * 1024 * 1024
    timeout_s: float = 30.0
    # A CA bundle for a server with a private certificate; certificates are always validated.
    ca_file: str | None = None

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {"tls": 465, "starttls": 587, "none": 25}[self.security]


class SmsSettings(Section):
    transport: Literal["twilio", "file"] = "twilio"
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    auth_token_file: Path | None = None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base_url: str | None = None
    status_callback: bool = False
    timeout_s: float = 30.0


class GatewaySettings(Section):
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    media_secret: SecretStr | None = None
    media_secret_file: Path | None = None
    media_ttl_s: int = 3600
    # Inbound MMS: the largest file fetched from Twilio.
    max_media_bytes: int = 5 * 1024 * 1024
    # Against stalled and flooding clients: the request headers and the body must each arrive in time (else 408),
    # at most this many requests are handled at once (else 503; /healthz is outside the cap), and larger bodies get
    # 413 (Twilio's webhooks are a few kilobytes).
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_concurrent: int = Field(default=256, ge=1)
    max_body_bytes: int = Field(default=65_536, ge=1024)


class DeliverySettings(Section):
    embedded_worker: bool = True
    # Bounds only a message's own temporary refusals (SMTP 4xx at RCPT or DATA); a paused channel uses none.
    max_attempts: int = 8
    # A delivery still unsent this long after it was queued fails, as a mail queue gives up (2 days).
    give_up_after_s: float = 172_800.0
    backoff_s: float = 5.0
    sms_rate_per_s: float = 1.0
    lease_s: float = 60.0
    batch_size: int = 100


class InboundEmailSettings(Section):
    """Where replies and bounces come back from: off, an IMAP mailbox that catches `reply+…@`, or an LMTP server
    that the local MTA hands that mail to (`staff-feed mail-in`)."""

    transport: Literal["off", "imap", "lmtp"] = "off"
    # IMAP: the server; LMTP: the address to listen on (LMTP has no authentication: keep it on loopback).
    host: str = "127.0.0.1"
    port: int | None = None
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    folder: str = "INBOX"
    # Where a stored message is moved; unset: it is flagged \Seen and left in place.
    processed_folder: str | None = None
    # IMAP: how long one IDLE lasts before it is renewed, and the polling interval of a server without IDLE.
    idle_s: float = 300.0
    poll_s: float = 30.0
    timeout_s: float = 30.0

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        if self.transport == "lmtp":
            return 2424
        return 993 if self.security == "tls" else 143


class TuiSettings(Section):
    # Ring the terminal bell when a staff member's text arrives.
    bell: bool = True
    # A locked session starts no program and attaches only from attach_root (see core/lockdown.py). Sessions that
    # come through the service account's forced command are locked whatever this says.
    locked: bool = False
    # The external editor (Ctrl+E). In a locked session only one in its restricted mode (rnano) may run.
    editor: str | None = None
    # Files are attached only from here; unset: anywhere (unlocked) or <data dir>/drop/<dispatcher> (locked).
    attach_root: Path | None = None


class DatabaseSettings(Section):
    # sqlite:///PATH (the default, in the data dir) or postgresql+psycopg://USER@HOST/NAME (postgresql:// and
    # postgres:// are read as the latter).
    url: str | None = None
    # The PostgreSQL password, kept out of the URL so that the URL can be shown.
    password: SecretStr | None = None
    password_file: Path | None = None
    # Connections each process keeps open to a PostgreSQL server (SQLite opens one per thread).
    pool_size: int = Field(default=5, ge=1, le=100)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STAFF_FEED_",
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    data_dir: Path = Field(default_factory=lambda: default_data_dir())
    # An OS group that may share the data dir and the database, for several dispatchers' accounts on one host.
    shared_group: str | None = None
    database: DatabaseSettings = DatabaseSettings()
    company: CompanySettings = CompanySettings()
    email: EmailSettings = EmailSettings()
    sms: SmsSettings = SmsSettings()
    gateway: GatewaySettings = GatewaySettings()
    delivery: DeliverySettings = DeliverySettings()
    inbound_email: InboundEmailSettings = InboundEmailSettings()
    tui: TuiSettings = TuiSettings()
    # The TOML file these settings came from (None: none was read); never attachable, see core/lockdown.py.
    _config_file: Path | None = PrivateAttr(default=None)
    # Secret files this account may not read ("email.password_file"): kept from a dispatcher's app on purpose.
    _unreadable_secrets: tuple[str, ...] = PrivateAttr(default=())

    @property
    def config_file(self) -> Path | None:
        return self._config_file

    @property
    def secret_files(self) -> list[Path]:
        """The files secrets were read from (or were to be read from)."""
        found = [getattr(getattr(self, section), f"{key}_file") for section, key in SECRET_KEYS]
        return [path for path in found if path is not None]

    @property
    def unreadable_secrets(self) -> tuple[str, ...]:
        return self._unreadable_secrets

    def require_secrets(self, what: str) -> None:
        """ConfigError when a secret file could not be read: `what` (the worker, the gateway) needs them."""
        if self._unreadable_secrets:
            names = ", ".join(self._unreadable_secrets)
            raise ConfigError(f"{what} cannot read {names} (permission denied): run it as the account that owns "
                              f"the secrets")

    @property
    def database_url(self) -> str:
        """The URL as configured, PostgreSQL aliases spelled as the driver's scheme; may hold a password."""
        return normalize_url(self.database.url or f"sqlite:///{self.data_dir / 'staff_feed.db'}")

    @property
    def database_url_shown(self) -> str:
        """The URL for errors, `doctor` and logs: any password in it as `***`."""
        return redact_url(self.database_url)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME))


def resolve_config_path(cli_path: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """Return the TOML path and whether it was asked for explicitly (then it must exist): `--config`, else
    STAFF_FEED_CONFIG, else the user's own file, else the system-wide one (which need not exist)."""
    if cli_path:
        return Path(cli_path).expanduser(), True
    env = os.environ.get("STAFF_FEED_CONFIG")
    if env:
        return Path(env).expanduser(), True
    user = default_config_path()
    return (user if user.exists() or not SYSTEM_CONFIG_PATH.exists() else SYSTEM_CONFIG_PATH), False


def _read_toml(path: Path, explicit: bool) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file not found: {path}") from None
        return {}, {}
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except PermissionError:
        raise ConfigError(f"cannot read the config file {path}: permission denied for this account") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return tomllib.loads(text), key_lines(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in the config file {path}: {exc}") from None


def _sections() -> dict[str, type[BaseModel]]:
    return {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, Section)
    }


def _home_of(key: str) -> str | None:
    """Where a key that is not where it was written belongs: "in [email]", "at the top of the file", or None."""
    sections = _sections()
    if key in Settings.model_fields and key not in sections:
        return "at the top of the file, before any [section]"
    homes = [f"[{name}]" for name, model in sections.items() if key in model.model_fields]
    if not homes:
        return None
    return "in " + (homes[0] if len(homes) == 1 else ", ".join(homes[:-1]) + " or " + homes[-1])


# A value under a key with one of these words in its name is never shown: a mistyped secret must not be printed.
_SECRET_WORDS = ("password", "secret", "token")


def _problem(error: Any, path: Path, lines: dict[tuple[str, ...], int]) -> str:
    """One pydantic error in words, naming the key and where it was written (a line, or an env variable)."""
    loc = tuple(str(part) for part in error["loc"])
    key = loc[-1] if loc else "settings"
    section = f"in [{loc[0]}]" if len(loc) > 1 else "at the top of the file"
    written = next((loc[:n] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
    if written is not None:
        where = f"{path} line {lines[written]}: "
    else:
        env = next((f"STAFF_FEED_{'__'.join(p.upper() for p in loc[:n])}" for n in range(len(loc), 0, -1)
                    if f"STAFF_FEED_{'__'.join(p.upper() for p in loc[:n])}" in os.environ), None)
        where = f"{env}: " if env else ""
    if error["type"] == "extra_forbidden":
        if len(loc) == 1 and isinstance(error.get("input"), dict):
            return f"{where}unknown section [{key}]"
        home = _home_of(key)
        hint = f"; it belongs {home}" if home and not home.startswith(section) else ""
        return f"{where}unknown key '{key}' {section}{hint}"
    value = error.get("input")
    if any(word in key.lower() for word in _SECRET_WORDS):
        shown = " (the value is not shown: it is a secret)"
    elif isinstance(value, str | int | float | bool):
        shown = f" (got {value!r})"
    else:
        shown = ""
    words = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return f"{where}{'.'.join(loc)} is invalid: {words}{shown}"


def _read_secrets(settings: Settings) -> None:
    """Each `<key>_file` read into its key. A file this account may not read leaves the secret unset and is noted:
    a dispatcher's app runs without the senders' secrets (the worker service has them)."""
    unreadable = []
    for section_name, key in SECRET_KEYS:
        section = getattr(settings, section_name)
        path = getattr(section, f"{key}_file")
        if path is None or getattr(section, key) is not None:
            continue
        try:
            value = path.expanduser().read_text(encoding="utf-8").strip()
        except PermissionError:
            unreadable.append(f"{section_name}.{key}_file {path}")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigError(f"cannot read {section_name}.{key}_file {path}: {reason}") from None
        setattr(settings, section_name, section.model_copy(update={key: SecretStr(value)}))
    settings._unreadable_secrets = tuple(unreadable)  # noqa: SLF001 - the loader records what it could not read


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build the settings. `overrides` are the CLI flags, nested as dicts (`database={"url": ...}`)."""
    path, explicit = resolve_config_path(config_path)
    toml, lines = _read_toml(path, explicit)

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=toml))

    try:
        settings = _Loaded(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError("; ".join(_problem(error, path, lines) for error in exc.errors(include_url=False))) from None
    except ValueError as exc:  # a value an env variable gave that could not be parsed (e.g. not JSON)
        raise ConfigError(f"configuration in STAFF_FEED_* is invalid: {exc}") from None
    settings._config_file = path if toml or lines else None  # noqa: SLF001 - the loader records its source
    _read_secrets(settings)
    return settings
