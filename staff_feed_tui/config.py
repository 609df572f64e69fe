"""Settings: CLI flags > env `STAFF_FEED_*` (nested with `__`) > TOML file > defaults.

Nothing is read at import time. `load_settings` is called by the CLI (or a test) and the result is passed down.
Secrets are `SecretStr`, so they never print in a repr or a log line; each may instead be given as `<key>_file`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

APP_NAME = "staff-feed"


class ConfigError(ValueError):
    """A configuration problem, worded for the operator."""


def _read_secret_files(data: Any, keys: tuple[str, ...]) -> Any:
    """Turn `<key>_file = "/path"` into `<key> = <file content>` for each secret key."""
    if not isinstance(data, dict):
        return data
    for key in keys:
        path = data.get(f"{key}_file")
        if path is not None and not isinstance(path, str):
            raise ConfigError(f"{key}_file must be a path written as a string, such as \"/etc/staff-feed/{key}\"")
        if path and not data.get(key):
            try:
                data[key] = Path(path).expanduser().read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read {key}_file {path}: {exc.strerror or exc}") from None
    return data


class CompanySettings(BaseModel):
    name: str = "Our Company"
    text_messaging: bool = False
    sms_number: str | None = None
    # The region used to read staff phone numbers written without a country code.
    default_region: str = "US"


class EmailSettings(BaseModel):
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

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _read_secret_files(data, ("password",))

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {"tls": 465, "starttls": 587, "none": 25}[self.security]


class SmsSettings(BaseModel):
    transport: Literal["twilio", "file"] = "twilio"
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    auth_token_file: Path | None = None
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base_url: str | None = None
    status_callback: bool = False
    timeout_s: float = 30.0

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _read_secret_files(data, ("auth_token",))


class GatewaySettings(BaseModel):
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

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _read_secret_files(data, ("media_secret",))


class DeliverySettings(BaseModel):
    embedded_worker: bool = True
    # Bounds only a message's own temporary refusals (SMTP 4xx at RCPT or DATA); a paused channel uses none.
    max_attempts: int = 8
    # A delivery still unsent this long after it was queued fails, as a mail queue gives up (2 days).
    give_up_after_s: float = 172_800.0
    backoff_s: float = 5.0
    sms_rate_per_s: float = 1.0
    lease_s: float = 60.0
    batch_size: int = 100


class InboundEmailSettings(BaseModel):
    """Where replies and bounces come back from: off, an IMAP mailbox that catches `reply+…@`, or an LMTP server
    that the local MTA hands that mail to (`staff-feed mail-in`)."""

    transport: Literal["off", "imap", "lmtp"] = "off"
    # IMAP: the server; LMTP: the address to listen on (LMTP has no authentication: keep it on loopback).
    host: str = "127.0.0.1"
    port: int | None = None
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str | None = None
    password: SecretStr | None = None
    folder: str = "INBOX"
    # Where a stored message is moved; unset: it is flagged \Seen and left in place.
    processed_folder: str | None = None
    # IMAP: how long one IDLE lasts before it is renewed, and the polling interval of a server without IDLE.
    idle_s: float = 300.0
    poll_s: float = 30.0
    timeout_s: float = 30.0

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        return _read_secret_files(data, ("password",))

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        if self.transport == "lmtp":
            return 2424
        return 993 if self.security == "tls" else 143


class TuiSettings(BaseModel):
    # Ring the terminal bell when a staff member's text arrives.
    bell: bool = True
    # A locked session starts no program and attaches only from attach_root (see core/lockdown.py). Sessions that
    # come through the service account's forced command are locked whatever this says.
    locked: bool = False
    # The external editor (Ctrl+E). In a locked session only one in its restricted mode (rnano) may run.
    editor: str | None = None
    # Files are attached only from here; unset: anywhere (unlocked) or <data dir>/drop/<dispatcher> (locked).
    attach_root: Path | None = None


class DatabaseSettings(BaseModel):
    url: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STAFF_FEED_",
        env_nested_delimiter="__",
        extra="ignore",
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

    @property
    def config_file(self) -> Path | None:
        return self._config_file

    @property
    def secret_files(self) -> list[Path]:
        """The files secrets were read from (or were to be read from)."""
        found = [self.email.password_file, self.sms.auth_token_file, self.gateway.media_secret_file]
        return [path for path in found if path is not None]

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'staff_feed.db'}"

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
    """Return the TOML path and whether it was asked for explicitly (then it must exist)."""
    if cli_path:
        return Path(cli_path).expanduser(), True
    env = os.environ.get("STAFF_FEED_CONFIG")
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build the settings. `overrides` are the CLI flags, nested as dicts (`database={"url": ...}`)."""
    path, explicit = resolve_config_path(config_path)
    if explicit and not path.is_file():
        raise ConfigError(f"config file not found: {path}")

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
            return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path))

    try:
        settings = _Loaded(**{k: v for k, v in overrides.items() if v is not None})
        settings._config_file = path if path.is_file() else None  # noqa: SLF001 - the loader records its source
        return settings
    except ConfigError:
        raise
    except ValidationError as exc:
        raise ConfigError(f"configuration in {path} or STAFF_FEED_* is invalid: {describe_invalid(exc)}") from None
    except ValueError as exc:  # TOML decode errors (their text names a line and column, never a value)
        raise ConfigError(f"configuration in {path} or STAFF_FEED_* is invalid: {exc}") from None


_SECRET_SUFFIXES = ("password", "secret", "token")


def describe_invalid(exc: ValidationError) -> str:
    """Each problem as `section.key: what is wrong (got 'value')`, on one line.

    pydantic's own text echoes every input, so a mistyped `password = 731953117` would print the password: a value
    is shown only when it is a plain scalar under a key that is not a secret.
    """
    problems = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        value = error.get("input")
        last = str(error["loc"][-1]) if error["loc"] else ""
        shown = ""
        if isinstance(value, str | int | float | bool) and not last.lower().endswith(_SECRET_SUFFIXES):
            shown = f" (got {value!r})"
        elif last.lower().endswith(_SECRET_SUFFIXES):
            shown = " (the value is not shown: it is a secret)"
        words = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
        problems.append(f"{loc or 'settings'}: {words}{shown}")
    return "; ".join(problems)
