"""Finding and reading the config file, before anything is validated.

Every problem becomes a `ConfigError` whose text names the file, the key and
the fix, so the command line can print it and exit 2 without a traceback.
This module needs no pydantic (`config.validation` does), so the console can
read its config and draw a first frame while pydantic is still loading.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings

CONFIG_ENV_VAR = "NIXDECK_CONFIG"
ENV_PREFIX = "NIXDECK_"
# The exit status of a command stopped by its configuration.
CONFIG_ERROR_EXIT = 2
# Here, not only in the settings model, so the console can draw its first
# frame in the theme it will keep before pydantic has loaded: a theme change
# restyles every widget.
DEFAULT_THEME = "nord"


class ConfigError(Exception):
    """The configuration cannot be used; the message says why and what to do."""


def default_config_path() -> Path:
    """`$XDG_CONFIG_HOME/nixdeck/config.toml`, else `~/.config/nixdeck/config.toml`."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nixdeck" / "config.toml"


def find_config_file(explicit: Path | None) -> Path | None:
    """The file to read: the one given on the command line, then $NIXDECK_CONFIG,
    then the default location if it exists. A file that was named explicitly
    must exist."""
    if explicit is not None:
        origin = "--config"
        path = explicit
    elif os.environ.get(CONFIG_ENV_VAR):
        origin = f"${CONFIG_ENV_VAR}"
        path = Path(os.environ[CONFIG_ENV_VAR])
    else:
        path = default_config_path()
        return path if path.is_file() else None
    path = path.expanduser()
    if not path.exists():
        raise ConfigError(
            f"{path}: config file not found (given by {origin}).\n"
            f"  fix: check the path, or copy the example from the nixdeck sources (config/example.toml) there."
        )
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file (given by {origin}).\n  fix: name the config file itself.")
    return path


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}.\n  fix: check its permissions and encoding (UTF-8).") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}.\n"
            f"  fix: correct the syntax there (strings need quotes, tables are [name], host entries are [[hosts]])."
        ) from None


@dataclass(frozen=True)
class ConfigSource:
    """A config as read from its file, with the command line's overrides, not
    yet validated."""

    path: Path | None
    file_values: dict[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def theme(self) -> str:
        """The theme the settings will name if they validate: the console's
        first frame is drawn in it before they have been."""
        for name, value in os.environ.items():
            if name.upper() == f"{ENV_PREFIX}THEME":
                return value
        theme = self.file_values.get("theme", DEFAULT_THEME)
        return theme if isinstance(theme, str) else DEFAULT_THEME

    def settings(self) -> Settings:
        from config.validation import validate_settings

        return validate_settings(self.path, self.file_values, self.overrides)


def read_config(explicit_path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> ConfigSource:
    """The config file found and read, not yet validated."""
    path = find_config_file(explicit_path)
    return ConfigSource(path, read_config_file(path) if path else {}, dict(overrides or {}))


def load_settings(explicit_path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> tuple[Settings, Path | None]:
    """Build the settings from every source; returns them with the file used."""
    source = read_config(explicit_path, overrides)
    return source.settings(), source.path
