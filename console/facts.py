"""What a host is: the facts script run on connect, and its parser.

The script prints labelled sections, each ended by a line that carries its
exit status, so that a missing command or file costs one section, never the
whole report. Everything it needs is readable by an ordinary user.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from console.errors import ParseError
from console.model import BootTime, Facts, FailedUnit, Generation
from console.sampler import split_head_sections

SECTION_BEGIN = "@@nixdeck-facts-begin"
SECTION_END = "@@nixdeck-facts-end"

# Small files go through one `head` (headers name each file). Symlinks are
# resolved with the shell's own `cd -P` + `pwd -P` (readlink -f without a
# process: busybox readlink takes one file at a time). `stat -c %Y` reports
# each generation link's own mtime, which is the generation's date. systemctl
# from before json output (systemd < 246) refuses --output=json, or ignores
# it and prints its table: the parser reads either.
FACTS_SCRIPT = r"""
LC_ALL=C; export LC_ALL
begin() { printf '\n@@nixdeck-facts-begin %s\n' "$1"; }
end() { printf '\n@@nixdeck-facts-end %s %s\n' "$1" "$2"; }
os_release=/etc/os-release
[ -e "$os_release" ] || os_release=/usr/lib/os-release
begin files
head -n 1000 /proc/sys/kernel/hostname /proc/sys/kernel/osrelease \
  /proc/sys/kernel/random/boot_id "$os_release" /run/current-system/nixos-version 2>/dev/null
end files $?
begin current-system
cd -P /run/current-system 2>/dev/null && pwd -P
end current-system $?
begin booted-system
cd -P /run/booted-system 2>/dev/null && pwd -P
end booted-system $?
begin profile
readlink /nix/var/nix/profiles/system 2>/dev/null
end profile $?
begin generations
for link in /nix/var/nix/profiles/system-*-link; do
  [ -L "$link" ] && cd -P "$link" 2>/dev/null || continue
  printf '%s ' "${link##*/}"
  pwd -P
done
end generations 0
begin generation-times
stat -c '%Y %n' /nix/var/nix/profiles/system-*-link 2>/dev/null
end generation-times $?
begin failed-units-json
systemctl list-units --failed --output=json --no-pager 2>/dev/null
rc=$?
end failed-units-json $rc
if [ "$rc" -ne 0 ]; then
  begin failed-units-plain
  systemctl list-units --failed --no-legend --plain --no-pager 2>/dev/null
  end failed-units-plain $?
fi
begin boot-time
systemd-analyze time 2>&1
end boot-time $?
"""

_GENERATION_LINK = re.compile(r"^system-(\d+)-link$")
_UNIT_LINE = re.compile(
    r"^[●*×]?\s*(?P<unit>\S+\.(?:service|socket|mount|automount|swap|target|path|timer|slice|scope|device))"
    r"\s+(?P<load>\S+)\s+(?P<active>\S+)\s+(?P<sub>\S+)\s*(?P<description>.*)$"
)
_OS_RELEASE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The units of systemd's format_timespan(); the pattern tries the longest
# spellings first so that "ms" is not read as "m" + "s".
_SPAN_SECONDS = {
    "y": 31_557_600.0, "month": 2_629_800.0, "w": 604_800.0, "d": 86_400.0, "h": 3_600.0,
    "min": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ns": 1e-9,
}
_SPAN_TOKEN = re.compile(r"(\d+(?:\.\d+)?)\s*(month|min|ms|us|µs|μs|ns|y|w|d|h|s)(?![A-Za-zµμ])")
_BOOT_PHASES = ("firmware", "loader", "kernel", "initrd", "userspace")


def facts_argv() -> list[str]:
    return ["sh", "-c", FACTS_SCRIPT, "nixdeck-facts"]


@dataclass(frozen=True, slots=True)
class _Section:
    lines: list[str]
    status: int | None  # None when the section was cut short

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def first_line(self) -> str | None:
        return next((line.strip() for line in self.lines if line.strip()), None)


def _split_sections(text: str) -> dict[str, _Section]:
    """{name: section}. A section that was cut short loses its last line,
    which may itself be cut (a store path missing its tail)."""
    sections: dict[str, _Section] = {}
    current: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        if line.startswith(SECTION_BEGIN):
            if current is not None:
                sections[current[0]] = _Section(current[1][:-1], None)
            current = (line[len(SECTION_BEGIN):].strip(), [])
        elif line.startswith(SECTION_END):
            name, _, status = line[len(SECTION_END):].strip().partition(" ")
            if current is not None and current[0] == name:
                code = status.strip()
                sections[name] = _Section(current[1], int(code) if code.isascii() and code.isdigit() else None)
            current = None
        elif current is not None:
            current[1].append(line)
    if current is not None:
        sections[current[0]] = _Section(current[1][:-1], None)
    return sections


def _shell_value(text: str) -> str | None:
    """One shell word as os-release(5) allows it: single quotes literal,
    backslash escaping $ ` " \\ inside double quotes and anything outside;
    unquoted whitespace ends it. None when a quote is left open."""
    out: list[str] = []
    quote: str | None = None
    chars = iter(text)
    for char in chars:
        if quote == "'":
            if char == "'":
                quote = None
            else:
                out.append(char)
        elif quote == '"':
            if char == '"':
                quote = None
            elif char == "\\":
                escaped = next(chars, "")
                out.append(escaped if escaped in '$`"\\' else char + escaped)
            else:
                out.append(char)
        elif char in "'\"":
            quote = char
        elif char == "\\":
            out.append(next(chars, ""))
        elif char.isspace():
            break
        else:
            out.append(char)
    return None if quote else "".join(out)


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5) assignments. Comment lines and lines that are not valid
    assignments (bad key, open quote) are skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.strip().partition("=")
        if not sep or not _OS_RELEASE_KEY.match(key):
            continue
        value = _shell_value(raw)
        if value is not None:
            values[key] = value
    return values


def parse_systemd_span(text: str) -> float:
    """Seconds in a systemd time span: `1min 6.855s`, `900ms`, `2.5s`, `1h 2min`
    (and `0`, which is how systemd writes a zero span)."""
    stripped = text.strip().rstrip(".")
    if stripped == "0":
        return 0.0
    tokens = list(_SPAN_TOKEN.finditer(stripped))
    if not tokens or _SPAN_TOKEN.sub("", stripped).strip():
        raise ParseError(f"not a systemd time span: {text[:60]!r}")
    return sum(float(t.group(1)) * _SPAN_SECONDS[t.group(2)] for t in tokens)


def parse_boot_time(text: str) -> BootTime | None:
    """`systemd-analyze time` output; None while boot is not finished or when
    the line cannot be read."""
    line = next((l for l in text.splitlines() if "Startup finished in" in l), None)
    if line is None:
        return None
    body = line.split("Startup finished in", 1)[1]
    phases_text, _, total_text = body.partition(" = ")
    phases: dict[str, float] = {}
    try:
        for part in phases_text.split(" + "):
            match = re.match(r"^\s*(.*?)\s*\((\w+)\)\s*$", part)
            if not match:
                return None
            phases[match.group(2)] = parse_systemd_span(match.group(1))
        total = parse_systemd_span(total_text) if total_text.strip() else sum(phases.values())
    except ParseError:
        return None
    return BootTime(
        total_s=total,
        **{f"{phase}_s": phases[phase] for phase in _BOOT_PHASES if phase in phases},
    )


def _failed_units_from_json(lines: list[str]) -> tuple[FailedUnit, ...] | None:
    try:
        data = json.loads("\n".join(lines))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    units: list[FailedUnit] = []
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("unit"), str):
            units.append(FailedUnit(**{
                key: value if isinstance(value := item.get(key), str) else ""
                for key in ("unit", "load", "active", "sub", "description")
            }))
    return tuple(units)


def _failed_units_from_table(lines: list[str]) -> tuple[FailedUnit, ...]:
    """`systemctl list-units --failed` as a table; legend lines don't match."""
    units: list[FailedUnit] = []
    for line in lines:
        match = _UNIT_LINE.match(line.strip())
        if match:
            units.append(FailedUnit(**{k: v.strip() for k, v in match.groupdict().items()}))
    return tuple(units)


def _failed_units(sections: dict[str, _Section]) -> tuple[FailedUnit, ...]:
    as_json = sections.get("failed-units-json")
    if as_json is not None and as_json.ok:
        units = _failed_units_from_json(as_json.lines)
        return units if units is not None else _failed_units_from_table(as_json.lines)
    plain = sections.get("failed-units-plain")
    return _failed_units_from_table(plain.lines) if plain is not None and plain.ok else ()


def _store_path(sections: dict[str, _Section], name: str) -> str | None:
    section = sections.get(name)
    path = section.first_line if section is not None and section.ok else None
    return path if path and path.startswith("/") else None


def _generations(sections: dict[str, _Section]) -> dict[int, Generation]:
    created: dict[str, float] = {}
    times = sections.get("generation-times")
    for line in times.lines if times is not None else ():
        mtime, _, path = line.strip().partition(" ")
        if mtime.isascii() and mtime.isdigit():
            created[path.rpartition("/")[2]] = float(mtime)
    generations: dict[int, Generation] = {}
    listing = sections.get("generations")
    for line in listing.lines if listing is not None else ():
        link, _, target = line.strip().partition(" ")
        match = _GENERATION_LINK.match(link)
        if match and target.startswith("/"):
            number = int(match.group(1))
            generations[number] = Generation(number, target, created.get(link))
    return generations


def _generation_of(path: str | None, generations: dict[int, Generation], prefer: int | None) -> int | None:
    """The generation whose store path is `path`. Several generations can share
    one path (a rebuild without changes); the profile's own wins, then the newest."""
    if path is None:
        return None
    matches = [n for n, g in generations.items() if g.store_path == path]
    if prefer in matches:
        return prefer
    return max(matches, default=None)


def parse_facts(text: str) -> Facts:
    """Parse FACTS_SCRIPT output. Only a report without hostname or kernel is
    an error; a host that is not NixOS gives is_nixos=False and no generations."""
    sections = _split_sections(text)
    files_section = sections.get("files")
    files = split_head_sections(files_section.lines if files_section is not None else [])

    def first_line(path: str) -> str | None:
        return next((line.strip() for line in files.get(path, ()) if line.strip()), None)

    hostname = first_line("/proc/sys/kernel/hostname")
    kernel = first_line("/proc/sys/kernel/osrelease")
    if hostname is None or kernel is None:
        raise ParseError("facts report lacks the hostname or the kernel release")
    os_lines = files.get("/etc/os-release") or files.get("/usr/lib/os-release") or []
    os_release = parse_os_release("\n".join(os_lines))
    os_id = os_release.get("ID") or "linux"

    generations = _generations(sections)
    profile = sections.get("profile")
    profile_link = profile.first_line if profile is not None and profile.ok else None
    profile_match = _GENERATION_LINK.match(profile_link.rpartition("/")[2]) if profile_link else None
    profile_generation = int(profile_match.group(1)) if profile_match else None
    profile_entry = generations.get(profile_generation) if profile_generation is not None else None
    current_system = _store_path(sections, "current-system")
    booted_system = _store_path(sections, "booted-system")
    boot_section = sections.get("boot-time")

    return Facts(
        hostname=hostname,
        os_name=os_release.get("PRETTY_NAME") or os_release.get("NAME") or "Linux",
        os_id=os_id,
        is_nixos=os_id == "nixos",
        kernel=kernel,
        nixos_version=first_line("/run/current-system/nixos-version"),
        current_system=current_system,
        booted_system=booted_system,
        profile_system=profile_entry.store_path if profile_entry else None,
        current_generation=_generation_of(current_system, generations, profile_generation),
        booted_generation=_generation_of(booted_system, generations, profile_generation),
        profile_generation=profile_generation,
        generations=tuple(generations[n] for n in sorted(generations)),
        failed_units=_failed_units(sections),
        boot_time=parse_boot_time("\n".join(boot_section.lines)) if boot_section is not None else None,
        boot_id=first_line("/proc/sys/kernel/random/boot_id"),
    )
