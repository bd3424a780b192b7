"""A host's NixOS system generations, read-only: what each one is, how big
its closure is, and how much the store holds.

Three different generations can matter at once, and they are kept apart:

- `current`: the one the profile `/nix/var/nix/profiles/system` points at,
  the boot default (what `nix-env --list-generations` marks "(current)");
- `running`: the one `/run/current-system` is (changed by `switch` and `test`);
- `booted`: the one `/run/booted-system` is (set at boot).

Every script here is a constant that takes its data as positional arguments
and prints one line per fact, `KEY VALUE...`, ending with `end`; a report
without that line was cut short and is refused rather than read in part.
Listing generations works unprivileged; closure sizes need the Nix store to
answer `nix-store -q`, which it does for any user on NixOS (the daemon).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from console.errors import NixdeckError, ParseError
from console.model import CommandResult
from console.transport import Transport

PROFILE = "/nix/var/nix/profiles/system"
LIST_TIMEOUT = 30.0
# Closure queries walk thousands of paths on a real host.
STORE_TIMEOUT = 300.0

GENERATION_LINK = re.compile(r"^system-(\d+)-link$", re.ASCII)
# A store path's last component: Nix's base-32 hash, a dash, a name of the
# characters Nix allows in store names (not starting with a dot). Use fullmatch.
STORE_PATH = re.compile(r"/(?:[^/\s]+/)+[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-_?=][A-Za-z0-9+\-._?=]*")
_STDERR_TAIL = 400


class StoreQueryError(NixdeckError):
    """A command on the host failed (Nix refused, a tool is missing, no rights)."""


@dataclass(frozen=True, slots=True)
class SystemGeneration:
    """One system generation, `/nix/var/nix/profiles/system-N-link`.

    `created` is the link's own mtime (epoch seconds), which is when the
    generation was made; `nixos_version` is `<generation>/nixos-version`;
    `kernel_version` the first directory under `kernel-modules/lib/modules/`.
    `current`, `running` and `booted` are explained in the module docstring;
    several generations may share one store path (a rebuild that changed
    nothing), and then all of them are running or booted. `closure_size` is the
    NAR size of the whole closure in bytes, None unless asked for or unknown.
    """

    number: int
    store_path: str
    created: float | None = None
    nixos_version: str | None = None
    kernel_version: str | None = None
    current: bool = False
    running: bool = False
    booted: bool = False
    closure_size: int | None = None

    @property
    def link(self) -> str:
        return f"{PROFILE}-{self.number}-link"


@dataclass(frozen=True, slots=True)
class StoreUsage:
    """What a host's store holds, cheap enough for the fleet view.

    `system_bytes` and `system_paths` are the NAR size and path count of the
    union of every system generation's closure (None when Nix could not say):
    what generation cleanup works on. The `disk_*` figures are the file system
    that holds /nix/store (None when `df` failed).
    """

    generations: int
    system_bytes: int | None
    system_paths: int | None
    disk_total: int | None
    disk_used: int | None
    disk_available: int | None


# One shell function shared by the scripts below: the NAR size and path count
# of the closure of its arguments, or "?" if any step failed. awk sums in
# floating point and prints with %.0f because some awks' %d stops at 2^31.
_CLOSURE_SIZE = r"""
closure_size() {
  { nix-store -qR "$@" 2>/dev/null | xargs -r nix-store -q --size 2>/dev/null || echo failed; } |
    awk '/^[0-9]+$/ { s += $1; n++; next } { bad = 1 }
         END { if (bad || !n) print "?"; else printf "%.0f %d\n", s, n }'
}
"""

# Symlinks are resolved with `cd -P` + `pwd -P` (no readlink -f on busybox);
# a link whose target is gone still gets its literal target. stat -c %Y
# without -L is the link's own mtime.
LIST_SCRIPT = r"""
LC_ALL=C; export LC_ALL
resolve() { (cd -P "$1" 2>/dev/null && pwd -P); }
printf 'profile %s\n' "$(readlink /nix/var/nix/profiles/system 2>/dev/null)"
printf 'running %s\n' "$(resolve /run/current-system)"
printf 'booted %s\n' "$(resolve /run/booted-system)"
for link in /nix/var/nix/profiles/system-*-link; do
  [ -L "$link" ] || continue
  name=${link##*/}
  target=$(resolve "$link") || target=$(readlink "$link")
  printf 'link %s %s\n' "$name" "$target"
  printf 'created %s %s\n' "$name" "$(stat -c %Y "$link" 2>/dev/null)"
  printf 'version %s %s\n' "$name" "$(head -n 1 "$target/nixos-version" 2>/dev/null | head -c 200)"
  for dir in "$target"/kernel-modules/lib/modules/*/; do
    [ -d "$dir" ] || break
    dir=${dir%/}
    printf 'kernel %s %s\n' "$name" "${dir##*/}"
    break
  done
done
echo end
"""

SIZES_SCRIPT = _CLOSURE_SIZE + r"""
for number; do
  printf 'size %s %s\n' "$number" "$(closure_size "/nix/var/nix/profiles/system-$number-link")"
done
echo end
"""

USAGE_SCRIPT = _CLOSURE_SIZE + r"""
LC_ALL=C; export LC_ALL
set --
for link in /nix/var/nix/profiles/system-*-link; do
  [ -L "$link" ] && set -- "$@" "$link"
done
printf 'generations %s\n' "$#"
[ "$#" -gt 0 ] && printf 'system %s\n' "$(closure_size "$@")"
df -Pk /nix/store 2>/dev/null | awk 'NR == 2 { print "disk", $0 }'
echo end
"""

# The store's file system alone: what a cleanup measures before and after,
# without USAGE_SCRIPT's walk of every generation's closure.
DISK_SCRIPT = r"""
LC_ALL=C; export LC_ALL
df -Pk /nix/store 2>/dev/null | awk 'NR == 2 { print "disk", $0 }'
echo end
"""

# `df -Pk`'s data line: the three figures in KiB, the capacity, the mount.
_DF_FIGURES = re.compile(r"\s(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s+/", re.ASCII)


async def run_script(
    transport: Transport, script: str, args: Sequence[str], *, timeout: float, input: str | None = None
) -> CommandResult:
    """Run a constant script with data only as positional arguments; raises
    StoreQueryError when it exits non-zero."""
    result = await transport.run(["sh", "-c", script, "nixdeck", *args], timeout=timeout, input=input)
    if not result.ok:
        detail = result.stderr.strip()[-_STDERR_TAIL:] or f"exit status {result.exit_status}"
        raise StoreQueryError(f"command on the host failed: {detail}")
    return result


def report_lines(text: str) -> list[str]:
    """A script's report up to its closing `end` line. Raises ParseError when
    that line is missing: the report was cut short."""
    lines = text.splitlines()
    try:
        return lines[:lines.index("end")]
    except ValueError:
        raise ParseError("the host's report was cut short (no end line)") from None


def keyed_lines(text: str) -> list[tuple[str, str]]:
    """(KEY, REST) of each `KEY REST` line of a script's report."""
    return [(key, rest) for key, _, rest in (line.partition(" ") for line in report_lines(text))]


def _is_store_path(text: str) -> bool:
    return bool(STORE_PATH.fullmatch(text))


def _link_number(name: str) -> int | None:
    match = GENERATION_LINK.match(name)
    return int(match.group(1)) if match else None


def parse_generations(text: str) -> list[SystemGeneration]:
    """Parse LIST_SCRIPT's report, oldest first. Garbage lines and values are
    skipped (a generation keeps what could be read); a generation whose target
    is not a store path is left out. Raises ParseError when the report was cut
    short, since a partial list could hide the running generation."""
    targets: dict[int, str] = {}
    details: dict[tuple[str, int], str] = {}
    found: dict[str, str] = {}
    for key, rest in keyed_lines(text):
        if key in ("profile", "running", "booted"):
            found[key] = rest.strip()
            continue
        name, _, value = rest.partition(" ")
        number = _link_number(name)
        value = value.strip()
        if number is None or not value:
            continue
        if key == "link":
            if _is_store_path(value):
                targets[number] = value
        else:
            details[key, number] = value
    profile = _link_number(found.get("profile", "").rpartition("/")[2])
    running, booted = found.get("running"), found.get("booted")
    return [
        SystemGeneration(
            number=number,
            store_path=path,
            created=_epoch(details.get(("created", number))),
            nixos_version=_printable(details.get(("version", number))),
            kernel_version=_printable(details.get(("kernel", number))),
            current=number == profile,
            running=path == running,
            booted=path == booted,
        )
        for number, path in sorted(targets.items())
    ]


def _epoch(text: str | None) -> float | None:
    return float(text) if text is not None and text.isascii() and text.isdigit() else None


def _printable(text: str | None) -> str | None:
    """A version string as shown; None for binary or replacement-character junk."""
    return text if text and text.isprintable() and "\ufffd" not in text else None


def parse_closure_sizes(text: str) -> dict[int, int]:
    """{generation number: closure bytes} from SIZES_SCRIPT; unknown ones left out."""
    sizes: dict[int, int] = {}
    for key, rest in keyed_lines(text):
        fields = rest.split()
        if key == "size" and len(fields) == 3 and all(f.isascii() and f.isdigit() for f in fields):
            sizes[int(fields[0])] = int(fields[1])
    return sizes


async def list_generations(
    transport: Transport, *, with_sizes: bool = False, timeout: float = LIST_TIMEOUT,
    sizes_timeout: float = STORE_TIMEOUT,
) -> list[SystemGeneration]:
    """Every system generation of the host, oldest first, in one round trip
    (two with `with_sizes`: the closure size of each, NAR bytes summed over
    `nix-store -qR` | `nix-store -q --size`). A host without generations gives []."""
    result = await run_script(transport, LIST_SCRIPT, [], timeout=timeout)
    generations = parse_generations(result.stdout)
    if not with_sizes:
        return generations
    return await with_closure_sizes(transport, generations, timeout=sizes_timeout)


async def with_closure_sizes(
    transport: Transport, generations: Sequence[SystemGeneration], *, timeout: float = STORE_TIMEOUT
) -> list[SystemGeneration]:
    """`generations` as listed, each with its closure size (one round trip)."""
    if not generations:
        return []
    numbers = [str(g.number) for g in generations]
    sized = await run_script(transport, SIZES_SCRIPT, numbers, timeout=timeout)
    sizes = parse_closure_sizes(sized.stdout)
    return [replace(g, closure_size=sizes.get(g.number)) for g in generations]


def parse_store_usage(text: str) -> StoreUsage:
    """Parse USAGE_SCRIPT's report; figures that cannot be read are None."""
    generations = 0
    system: list[str] = []
    disk: tuple[int, ...] = ()
    for key, rest in keyed_lines(text):
        if key == "generations" and rest.isascii() and rest.isdigit():
            generations = int(rest)
        elif key == "system":
            system = rest.split()
        elif key == "disk" and (match := _DF_FIGURES.search(rest)):
            disk = tuple(int(figure) * 1024 for figure in match.groups())
    system_ok = len(system) == 2 and all(f.isascii() and f.isdigit() for f in system)
    total, used, available = disk or (None, None, None)
    return StoreUsage(
        generations=generations,
        system_bytes=int(system[0]) if system_ok else None,
        system_paths=int(system[1]) if system_ok else None,
        disk_total=total,
        disk_used=used,
        disk_available=available,
    )


async def store_usage(transport: Transport, *, timeout: float = STORE_TIMEOUT) -> StoreUsage:
    """How many generations the host has, what their closures weigh and how
    full the store's file system is, in one round trip.

    Not the whole store's size: that needs every valid path (`du -sb
    /nix/store` walks millions of files; `nix path-info --all` needs the
    experimental nix-command on Nix 2.8). The generations' closures are what
    cleanup can free, and `df` shows how pressing it is.
    """
    result = await run_script(transport, USAGE_SCRIPT, [], timeout=timeout)
    return parse_store_usage(result.stdout)


async def store_disk_available(transport: Transport, *, timeout: float = LIST_TIMEOUT) -> int | None:
    """Bytes free on the file system holding /nix/store (None if df failed)."""
    result = await run_script(transport, DISK_SCRIPT, [], timeout=timeout)
    return parse_store_usage(result.stdout).disk_available
