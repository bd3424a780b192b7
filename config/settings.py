"""nixdeck's settings: the models, their defaults and where values come from.

Sources, highest first: command line (init arguments), environment
(`NIXDECK_` prefix, `__` between nested keys), the TOML config file, defaults.
`config.loader` finds and reads the file and turns validation errors into
messages a user can act on.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from config.loader import DEFAULT_THEME


class HostConfig(BaseModel):
    """One `[[hosts]]` entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Unique name shown in the console.")
    address: str | None = Field(
        default=None,
        description="Host name or IP to connect to; defaults to the name, so an ~/.ssh/config alias works.",
    )
    port: int | None = Field(default=None, ge=1, le=65535, description="SSH port (default: ssh config, then 22).")
    user: str | None = Field(default=None, description="Login user (default: ssh config, then the local user).")
    identity_file: Path | None = Field(default=None, description="Private key to log in with.")
    tags: tuple[str, ...] = Field(default=(), description='Free labels such as "laptop" or "server".')
    local: bool = Field(default=False, description="This is the machine nixdeck runs on: read it directly, no SSH.")

    @field_validator("name")
    @classmethod
    def _name_is_printable(cls, name: str) -> str:
        name = name.strip()
        if not name or not name.isprintable():
            raise ValueError("a host name must be non-empty printable text")
        return name

    @property
    def target(self) -> str:
        """What to connect to."""
        return self.address or self.name


class SshConfig(BaseModel):
    """The `[ssh]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    known_hosts: tuple[Path, ...] | None = Field(
        default=None,
        description="known_hosts files to verify host keys against (default: the ssh config's, then ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts).",
    )
    config_file: Path | None = Field(
        default=None, description="OpenSSH client config to read (default: ~/.ssh/config)."
    )
    connect_timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds to wait for a connection.")
    keepalive: float = Field(
        default=15.0, ge=0, le=3600, description="Seconds between keepalives; a host that misses 3 is down (0: off)."
    )
    reconnect_max: float = Field(
        default=30.0, gt=0, le=3600, description="Longest wait between reconnection attempts, in seconds."
    )

    @field_validator("known_hosts", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, Path)) else value


class CleanupConfig(BaseModel):
    """The `[cleanup]` table: the generation cleanup policy's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_last: int = Field(default=3, ge=1, le=1000, description="Keep this many of the newest generations.")
    keep_newer_than_days: float | None = Field(
        default=None, ge=0, le=36500, description="Also keep every generation newer than this many days."
    )


class RollbackConfig(BaseModel):
    """The `[rollback]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confirm_within: float = Field(
        default=60.0, ge=5, le=3600,
        description="Seconds a host waits, after switching, for nixdeck to confirm over a new connection "
        "before it switches back by itself.",
    )


class Settings(BaseSettings):
    """Everything nixdeck can be told."""

    model_config = SettingsConfigDict(
        env_prefix="NIXDECK_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    hosts: tuple[HostConfig, ...] = Field(default=(), description="The fleet; empty means this machine alone.")
    ssh: SshConfig = Field(default_factory=SshConfig)
    refresh_interval: float = Field(default=2.0, ge=0.2, le=3600, description="Seconds between metric samples.")
    facts_interval: float = Field(
        default=60.0, ge=5, le=86400, description="Seconds between refreshes of a host's facts."
    )
    journal_buffer: int = Field(
        default=5000, ge=100, le=1_000_000, description="Journal entries kept in memory per host."
    )
    journal_backlog: int = Field(
        default=200, ge=0, le=100_000, description="Journal entries fetched when a host is first reached."
    )
    read_only: bool = Field(
        default=False, description="Refuse every operation that changes a host (as --read-only does)."
    )
    cleanup: CleanupConfig = Field(default_factory=CleanupConfig)
    rollback: RollbackConfig = Field(default_factory=RollbackConfig)
    theme: str = Field(
        default=DEFAULT_THEME,
        min_length=1,
        description="Colour theme of the console: a Textual theme name (ctrl+p, then 'theme', lists them).",
    )

    @field_validator("hosts")
    @classmethod
    def _hosts_are_unique(cls, hosts: tuple[HostConfig, ...]) -> tuple[HostConfig, ...]:
        seen: set[str] = set()
        for host in hosts:
            if host.name in seen:
                raise ValueError(f"duplicate host name {host.name!r}: every [[hosts]] entry needs its own name")
            seen.add(host.name)
        if sum(host.local for host in hosts) > 1:
            raise ValueError("more than one host has local = true: only the machine nixdeck runs on can be local")
        return hosts

    @property
    def fleet(self) -> tuple[HostConfig, ...]:
        """The hosts to watch: the configured ones, or this machine alone."""
        if self.hosts:
            return self.hosts
        return (HostConfig(name=socket.gethostname() or "localhost", local=True, tags=("local",)),)

    @classmethod
    def with_file_values(cls, file_values: dict[str, Any]) -> type[Settings]:
        """A Settings class that ranks `file_values` (the parsed TOML file)
        below the environment and the command line."""

        class FileBackedSettings(cls):  # type: ignore[valid-type,misc]
            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=file_values))

        return FileBackedSettings
