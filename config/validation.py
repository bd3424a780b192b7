"""Validating the settings read from the config file, the environment and the
command line, and turning pydantic's errors into messages a user can act on:
each names the file (or variable), the key and the fix.

Kept apart from `config.loader` because pydantic is slow to import: the
console draws its first frame while this module loads.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from config.loader import ENV_PREFIX, ConfigError
from config.settings import Settings


def validate_settings(path: Path | None, file_values: dict[str, Any], overrides: Mapping[str, Any]) -> Settings:
    """The settings from every source, the command line's `overrides` first."""
    settings_cls = Settings.with_file_values(file_values)
    try:
        return settings_cls(**dict(overrides))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, path, file_values, overrides)) from None


def describe_validation_error(
    exc: ValidationError, path: Path | None, file_values: Mapping[str, Any], overrides: Mapping[str, Any]
) -> str:
    source = str(path) if path else "settings"
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = _format_loc(loc, file_values)
        origin = "command line" if loc and loc[0] in overrides else _origin(loc, file_values, source)
        lines.append(f"{origin}: {key}: {_problem(error)}.\n  fix: {_fix(error, loc)}")
    return "\n".join(lines)


def _format_loc(loc: tuple[Any, ...], file_values: Mapping[str, Any]) -> str:
    if not loc:
        return "(top level)"
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
    text = ".".join(parts)
    # Name the host too: "hosts[2]" alone makes the user count entries.
    if loc[0] == "hosts" and len(loc) > 1 and isinstance(loc[1], int):
        hosts = file_values.get("hosts")
        if isinstance(hosts, list) and loc[1] < len(hosts) and isinstance(hosts[loc[1]], dict):
            name = hosts[loc[1]].get("name")
            if isinstance(name, str):
                text += f" (host {name!r})"
    return text


def _origin(loc: tuple[Any, ...], file_values: Mapping[str, Any], source: str) -> str:
    """Say where a bad value came from: an environment variable or the file.

    The variable may name the key itself (NIXDECK_SSH__CONNECT_TIMEOUT) or a
    table above it holding JSON (NIXDECK_SSH); names are case-insensitive.
    """
    if not loc or loc[0] in file_values:
        return source
    keys = [str(part).upper() for part in loc if not isinstance(part, int)]
    candidates = [ENV_PREFIX + "__".join(keys[:depth]) for depth in range(len(keys), 0, -1)]
    present = {name.upper(): name for name in os.environ}
    for candidate in candidates:
        if candidate in present:
            return f"environment variable {present[candidate]}"
    return source


def _problem(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if kind in {"value_error", "assertion_error"}:
        return message.removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    value = error.get("input")
    return f"{message} (got {value!r})" if isinstance(value, (str, int, float, bool)) else message


def _fix(error: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    key = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"{hint}remove it or use one of: {', '.join(sorted(known))}"
    if kind == "missing":
        return f'add {key} = ... to this entry (e.g. name = "p620")' if key == "name" else f"add a value for {key}"
    if kind.endswith(("_parsing", "_type")):
        expected = {
            "int": "a whole number, without quotes",
            "float": "a number, without quotes",
            "bool": "true or false, without quotes",
            "string": "text in double quotes",
            "list": "a list in brackets, e.g. [\"laptop\"]",
            "tuple": "a list in brackets, e.g. [\"laptop\"]",
            "model": "a table",
            "dict": "a table",
        }
        for prefix, description in expected.items():
            if kind.startswith(prefix):
                return f"write {description}"
        return "write a value of the right type"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"choose a value that is {error['msg'].removeprefix('Input should be ')}"
    if "duplicate host name" in str(error["msg"]):
        return "rename or remove one of the two entries"
    if "local = true" in str(error["msg"]):
        return "keep local = true on one host only"
    return "see the configuration reference in the README"


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `parent` in the settings models."""
    model: type[BaseModel] = Settings
    for part in parent:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        inner = _model_of(field.annotation)
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
