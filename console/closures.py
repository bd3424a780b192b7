"""What changed between two system generations, package by package, as nvd
shows it: versions changed, packages added, packages removed.

A store path's name is `<32-char hash>-<name>-<version>`; the version starts
at the first dash followed by a digit (the rule of Nix's parseDrvName, a
heuristic). A trailing output or part name (`openssl-3.0.13-dev`,
`linux-6.6.30-modules`) is folded into its package, so a package is listed
once with its versions. Left out as noise: paths without a version (generated
config, units, `source`), derivations (`.drv`), the `nixos-system-*` path
itself (the generations' own versions say that), and paths whose name and
version did not change (only the hash did: a dependency was rebuilt).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from console.generations import (
    STORE_PATH,
    STORE_TIMEOUT,
    SystemGeneration,
    keyed_lines,
    run_script,
)
from console.transport import Transport

_VERSION_START = re.compile(r"-(?=\d)", re.ASCII)
_OUTPUT_SUFFIXES = frozenset({"bin", "dev", "out", "lib", "man", "doc", "devdoc", "info", "debug", "static", "modules"})
_SYSTEM_PREFIX = "nixos-system-"
_VERSION_PARTS = re.compile(r"(\d+)|\D+", re.ASCII)

CLOSURES_SCRIPT = r"""
LC_ALL=C; export LC_ALL
before=$(nix-store -qR "$1") || exit
after=$(nix-store -qR "$2") || exit
printf '%s\n' "$before" | sed 's/^/before /'
printf '%s\n' "$after" | sed 's/^/after /'
echo end
"""


@dataclass(frozen=True, slots=True)
class StoreName:
    """A store path's package name and version ("" when it has none)."""

    name: str
    version: str


@dataclass(frozen=True, slots=True)
class PackageChange:
    """One package's versions before and after (empty when absent), each
    sorted oldest first; a package can be there in several versions."""

    name: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PackageChanges:
    """The packages of two closures compared, each list sorted by name."""

    changed: tuple[PackageChange, ...]
    added: tuple[PackageChange, ...]
    removed: tuple[PackageChange, ...]


@dataclass(frozen=True, slots=True)
class ClosureDiff:
    """Two generations compared: their own NixOS and kernel versions are on
    `before` and `after`, the packages in `packages`."""

    before: SystemGeneration
    after: SystemGeneration
    packages: PackageChanges


def parse_store_name(path: str) -> StoreName | None:
    """Name and version of a store path; None for what is not a store path."""
    if not STORE_PATH.fullmatch(path):
        return None
    full = path.rpartition("/")[2][33:]
    start = _VERSION_START.search(full)
    if start is None:
        return StoreName(full, "")
    version = full[start.end():]
    head, _, suffix = version.rpartition("-")
    if head and suffix in _OUTPUT_SUFFIXES:
        version = head
    return StoreName(full[:start.start()], version)


def _version_key(version: str) -> list[tuple[int, int | str]]:
    """Numbers compared as numbers: 6.6.9 before 6.6.10."""
    return [
        (0, int(part.group(1))) if part.group(1) else (1, part.group())
        for part in _VERSION_PARTS.finditer(version)
    ]


def package_versions(paths: Iterable[str]) -> dict[str, frozenset[str]]:
    """{package name: versions} of a closure, noise left out (see the module)."""
    packages: dict[str, set[str]] = {}
    for path in map(str.strip, paths):
        parsed = parse_store_name(path)
        if parsed is None or not parsed.version or path.endswith(".drv") or parsed.name.startswith(_SYSTEM_PREFIX):
            continue
        packages.setdefault(parsed.name, set()).add(parsed.version)
    return {name: frozenset(versions) for name, versions in packages.items()}


def diff_packages(before: Iterable[str], after: Iterable[str]) -> PackageChanges:
    """Compare two closures given as store path lists."""
    old, new = package_versions(before), package_versions(after)

    def change(name: str) -> PackageChange:
        return PackageChange(
            name,
            tuple(sorted(old.get(name, ()), key=_version_key)),
            tuple(sorted(new.get(name, ()), key=_version_key)),
        )

    return PackageChanges(
        changed=tuple(change(n) for n in sorted(old.keys() & new.keys()) if old[n] != new[n]),
        added=tuple(change(n) for n in sorted(new.keys() - old.keys())),
        removed=tuple(change(n) for n in sorted(old.keys() - new.keys())),
    )


def parse_closures(text: str) -> tuple[list[str], list[str]]:
    """The two closures in CLOSURES_SCRIPT's report; raises ParseError when cut."""
    closures: dict[str, list[str]] = {"before": [], "after": []}
    for key, rest in keyed_lines(text):
        if key in closures:
            closures[key].append(rest)
    return closures["before"], closures["after"]


async def closure_diff(
    transport: Transport, before: SystemGeneration, after: SystemGeneration, *, timeout: float = STORE_TIMEOUT
) -> ClosureDiff:
    """Compare two generations' closures (`nix-store -qR` of both) in one round trip."""
    result = await run_script(transport, CLOSURES_SCRIPT, [before.store_path, after.store_path], timeout=timeout)
    return ClosureDiff(before, after, diff_packages(*parse_closures(result.stdout)))
