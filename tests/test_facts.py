"""The facts script and its parser: NixOS reports in several forms, a host
that is not NixOS (this machine, run for real), and a NixOS layout faked in a
private mount namespace so the script's own links and stats are exercised."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.errors import ParseError
from console.facts import (
    FACTS_SCRIPT,
    facts_argv,
    parse_boot_time,
    parse_facts,
    parse_os_release,
    parse_systemd_span,
)
from console.model import BootTime, FailedUnit, Generation
from tests.fleet.nixstore import ensure_nix_mount_point
from tests.properties import PARSER_PROPERTIES, only_parse_errors

STORE = "/nix/store"
SYSTEM_41 = f"{STORE}/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-nixos-system-web1-24.05.20240501.aaaaaaa"
SYSTEM_42 = f"{STORE}/1a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-nixos-system-web1-24.05.20240601.bbbbbbb"
SYSTEM_43 = f"{STORE}/2a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-nixos-system-web1-24.05.20240603.ccccccc"

NIXOS_OS_RELEASE = """\
ANSI_COLOR="1;34"
BUG_REPORT_URL="https://github.com/NixOS/nixpkgs/issues"
BUILD_ID="24.05.20240601.bbbbbbb"
DOCUMENTATION_URL="https://nixos.org/learn.html"
HOME_URL="https://nixos.org/"
ID=nixos
LOGO="nix-snowflake"
NAME=NixOS
PRETTY_NAME="NixOS 24.05 (Uakari)"
SUPPORT_END="2024-12-31"
VERSION="24.05 (Uakari)"
VERSION_CODENAME=uakari
VERSION_ID="24.05"
"""

FAILED_JSON = json.dumps([
    {"unit": "restic-backups-home.service", "load": "loaded", "active": "failed", "sub": "failed",
     "description": "restic backup home"},
    {"unit": "nix-gc.service", "load": "loaded", "active": "failed", "sub": "failed",
     "description": "Nix Garbage Collector"},
])
FAILED_PLAIN = """\
restic-backups-home.service loaded failed failed restic backup home
nix-gc.service              loaded failed failed Nix Garbage Collector
"""
# systemd < 246 ignores --output=json for list-units and prints its table.
FAILED_OLD_TABLE = """\
  UNIT                        LOAD   ACTIVE SUB    DESCRIPTION
● restic-backups-home.service loaded failed failed restic backup home
● nix-gc.service              loaded failed failed Nix Garbage Collector

LOAD   = Reflects whether the unit definition was properly loaded.
ACTIVE = The high-level unit activation state, i.e. generalization of SUB.
SUB    = The low-level unit activation state, values depend on unit type.

2 loaded units listed.
"""
EXPECTED_FAILED = (
    FailedUnit("restic-backups-home.service", "loaded", "failed", "failed", "restic backup home"),
    FailedUnit("nix-gc.service", "loaded", "failed", "failed", "Nix Garbage Collector"),
)

ANALYZE_LAPTOP = """\
Startup finished in 2.646s (firmware) + 4.504s (loader) + 8.394s (kernel) + 1.609s (initrd) + 6.761s (userspace) = 23.914s
graphical.target reached after 6.556s in userspace.
"""
ANALYZE_VM = """\
Startup finished in 1.204s (kernel) + 2.950s (initrd) + 1min 6.855s (userspace) = 1min 11.009s
multi-user.target reached after 1min 6.700s in userspace
"""
ANALYZE_NOT_FINISHED = """\
Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).
Please try again later.
Hint: Use 'systemctl list-jobs' to see active jobs
"""


def section(name: str, body: str, status: int = 0) -> str:
    return f"\n@@nixdeck-facts-begin {name}\n{body}\n@@nixdeck-facts-end {name} {status}\n"


def head_files(files: dict[str, str]) -> str:
    return "\n".join(f"==> {path} <==\n{text.rstrip()}\n" for path, text in files.items())


def nixos_report(
    *,
    current: str = SYSTEM_42,
    booted: str = SYSTEM_41,
    profile_link: str = "system-43-link",
    failed: list[str] | None = None,
    analyze: str = ANALYZE_LAPTOP,
    analyze_status: int = 0,
) -> str:
    files = head_files({
        "/proc/sys/kernel/hostname": "web1",
        "/proc/sys/kernel/osrelease": "6.6.32",
        "/proc/sys/kernel/random/boot_id": "3f1d9c0e-1a7b-4b6e-9d2a-5c4e8f7a6b5d",
        "/etc/os-release": NIXOS_OS_RELEASE,
        "/run/current-system/nixos-version": "24.05.20240601.bbbbbbb",
    })
    generations = f"system-41-link {SYSTEM_41}\nsystem-42-link {SYSTEM_42}\nsystem-43-link {SYSTEM_43}"
    times = "\n".join(f"{1714550000 + n} /nix/var/nix/profiles/system-{n}-link" for n in (41, 42, 43))
    return "".join([
        section("files", files),
        section("current-system", current),
        section("booted-system", booted),
        section("profile", profile_link),
        section("generations", generations),
        section("generation-times", times),
        *(failed if failed is not None else [section("failed-units-json", FAILED_JSON)]),
        section("boot-time", analyze, analyze_status),
    ])


def test_nixos_host() -> None:
    facts = parse_facts(nixos_report())
    assert (facts.hostname, facts.kernel, facts.os_id, facts.is_nixos) == ("web1", "6.6.32", "nixos", True)
    assert facts.os_name == "NixOS 24.05 (Uakari)"
    assert facts.nixos_version == "24.05.20240601.bbbbbbb"
    assert facts.boot_id == "3f1d9c0e-1a7b-4b6e-9d2a-5c4e8f7a6b5d"
    assert facts.generations == (
        Generation(41, SYSTEM_41, 1714550041.0),
        Generation(42, SYSTEM_42, 1714550042.0),
        Generation(43, SYSTEM_43, 1714550043.0),
    )
    assert (facts.booted_generation, facts.current_generation, facts.profile_generation) == (41, 42, 43)
    assert (facts.booted_system, facts.current_system, facts.profile_system) == (SYSTEM_41, SYSTEM_42, SYSTEM_43)
    assert facts.reboot_pending
    assert facts.failed_units == EXPECTED_FAILED
    assert facts.boot_time == BootTime(23.914, firmware_s=2.646, loader_s=4.504, kernel_s=8.394, initrd_s=1.609,
                                       userspace_s=6.761)


def test_settled_host_and_a_system_no_generation_matches() -> None:
    facts = parse_facts(nixos_report(current=SYSTEM_43, booted=SYSTEM_43))
    assert (facts.booted_generation, facts.current_generation) == (43, 43)
    assert not facts.reboot_pending
    # `nixos-rebuild test` of a build that never became a generation
    facts = parse_facts(nixos_report(current=f"{STORE}/9z-nixos-system-web1-test"))
    assert facts.current_generation is None and facts.current_system == f"{STORE}/9z-nixos-system-web1-test"


def test_generations_sharing_one_store_path_prefer_the_profiles() -> None:
    report = nixos_report(current=SYSTEM_42, profile_link="system-42-link").replace(
        f"system-43-link {SYSTEM_43}", f"system-43-link {SYSTEM_42}")
    assert parse_facts(report).current_generation == 42
    report = nixos_report(current=SYSTEM_42, profile_link="system-41-link").replace(
        f"system-43-link {SYSTEM_43}", f"system-43-link {SYSTEM_42}")
    assert parse_facts(report).current_generation == 43


@pytest.mark.parametrize("failed", [
    pytest.param([section("failed-units-json", "Unknown output 'json'.", 1),
                  section("failed-units-plain", FAILED_PLAIN)], id="plain-fallback"),
    pytest.param([section("failed-units-json", FAILED_OLD_TABLE)], id="json-ignored-by-old-systemd"),
])
def test_failed_units_in_other_forms(failed: list[str]) -> None:
    assert parse_facts(nixos_report(failed=failed)).failed_units == EXPECTED_FAILED


def test_no_failed_units_and_unreachable_systemctl() -> None:
    assert parse_facts(nixos_report(failed=[section("failed-units-json", "[]")])).failed_units == ()
    gone = [section("failed-units-json", "", 127), section("failed-units-plain", "", 127)]
    assert parse_facts(nixos_report(failed=gone)).failed_units == ()


def test_boot_time_forms() -> None:
    vm = parse_facts(nixos_report(analyze=ANALYZE_VM)).boot_time
    assert vm == BootTime(71.009, kernel_s=1.204, initrd_s=2.95, userspace_s=66.855)
    assert parse_facts(nixos_report(analyze=ANALYZE_NOT_FINISHED, analyze_status=1)).boot_time is None
    container = parse_boot_time("Startup finished in 900ms (userspace) = 900ms\n")
    assert container == BootTime(0.9, userspace_s=0.9)
    assert parse_boot_time("Startup finished in 1.5s (kernel) + 3s (userspace) = 4.5s.") == BootTime(
        4.5, kernel_s=1.5, userspace_s=3.0)
    assert parse_boot_time("Startup finished in garbage") is None
    # systemd 252 ends the line with a space after the total
    assert parse_boot_time("Startup finished in 0 (kernel) + 5s (userspace) = 5s \n") == BootTime(
        5.0, kernel_s=0.0, userspace_s=5.0)


@pytest.mark.parametrize(("text", "seconds"), [
    ("2.5s", 2.5), ("900ms", 0.9), ("1min 6.855s", 66.855), ("1h 2min 3s", 3723.0), ("250us", 0.00025),
    ("250µs", 0.00025), ("2d 1h", 176400.0), ("1w", 604800.0), ("3month", 3 * 2629800.0), ("1y", 31557600.0),
    ("12.3s.", 12.3), ("0", 0.0), (" 23.914s ", 23.914),
])
def test_parse_systemd_span(text: str, seconds: float) -> None:
    assert parse_systemd_span(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "1.5", "1min x", "five s", "1 parsec", "1sx"])
def test_parse_systemd_span_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_systemd_span(text)


def test_parse_os_release() -> None:
    text = """\
# a comment
NAME=NixOS
PRETTY_NAME="NixOS 24.05 (Uakari)"
SINGLE='quoted $literal'
ESCAPED="say \\"hi\\" for \\$5 \\\\ and \\n"
TRAILING=bare # comment after
   INDENTED = no
1BAD=x
OPEN="never closed
EMPTY=
"""
    assert parse_os_release(text) == {
        "NAME": "NixOS",
        "PRETTY_NAME": "NixOS 24.05 (Uakari)",
        "SINGLE": "quoted $literal",
        "ESCAPED": 'say "hi" for $5 \\ and \\n',
        "TRAILING": "bare",
        "EMPTY": "",
    }


def test_missing_hostname_or_kernel_is_an_error() -> None:
    with pytest.raises(ParseError):
        parse_facts("")
    with pytest.raises(ParseError):
        parse_facts(nixos_report().replace("==> /proc/sys/kernel/osrelease <==", "==> /elsewhere <=="))


def test_report_cut_short_still_gives_what_arrived() -> None:
    report = nixos_report()
    cut = report[: report.index(f"system-43-link {SYSTEM_43}") + 30]  # inside generation 43's store path
    facts = parse_facts(cut)
    assert [g.number for g in facts.generations] == [41, 42]
    assert facts.current_generation == 42 and facts.profile_generation == 43 and facts.profile_system is None
    assert facts.failed_units == () and facts.boot_time is None


# --- for real --------------------------------------------------------------------------


def test_this_machine_for_real() -> None:
    """This machine is not NixOS (Debian here): a normal result, not an error."""
    result = subprocess.run(facts_argv(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    facts = parse_facts(result.stdout)
    assert facts.hostname == os.uname().nodename
    assert facts.kernel == os.uname().release
    with open("/proc/sys/kernel/random/boot_id") as boot_id:
        assert facts.boot_id == boot_id.read().strip()
    if not os.path.exists("/run/current-system"):
        assert not facts.is_nixos and facts.generations == () and facts.current_generation is None


FAKE_NIXOS = r"""
set -e
mount -t tmpfs nixdeck-test /nix
mount -t tmpfs nixdeck-test /run
mkdir -p /nix/store /nix/var/nix/profiles /run/tmp
for n in 41 42 43; do
  store=/nix/store/${n}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web1-24.05.$n
  mkdir -p "$store"
  echo "24.05.$n" > "$store/nixos-version"
  ln -s "$store" /nix/var/nix/profiles/system-$n-link
  touch -h -d @$((1714550000 + n)) /nix/var/nix/profiles/system-$n-link
done
ln -s system-43-link /nix/var/nix/profiles/system
ln -s /nix/store/42aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web1-24.05.42 /run/current-system
ln -s /nix/store/41aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web1-24.05.41 /run/booted-system
printf 'ID=nixos\nPRETTY_NAME="NixOS 24.05 (Uakari)"\n' > /run/tmp/os-release
mount --bind /run/tmp/os-release /etc/os-release
exec "$@"
"""


def can_fake_nixos() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


@pytest.mark.skipif(not can_fake_nixos(), reason="needs root and unshare")
@pytest.mark.parametrize("shell", ["sh", "bash", "busybox"])
def test_script_on_a_nixos_layout_in_a_private_mount_namespace(shell: str) -> None:
    if not shutil.which(shell):
        pytest.skip(f"no {shell}")
    ensure_nix_mount_point()
    run = [shell, "sh"] if shell == "busybox" else [shell]
    # --propagation private: nothing mounted here is seen outside the namespace
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", FAKE_NIXOS, "fake-nixos",
         *run, "-c", FACTS_SCRIPT, "nixdeck-facts"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0 and "mount" in result.stderr:
        pytest.skip(f"cannot mount here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    facts = parse_facts(result.stdout)
    store = "/nix/store/{0}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web1-24.05.{0}"
    assert facts.is_nixos and facts.os_name == "NixOS 24.05 (Uakari)"
    assert facts.generations == tuple(Generation(n, store.format(n), 1714550000.0 + n) for n in (41, 42, 43))
    assert (facts.booted_generation, facts.current_generation, facts.profile_generation) == (41, 42, 43)
    assert facts.profile_system == store.format(43)
    assert facts.nixos_version == "24.05.42"
    assert facts.reboot_pending


# --- nothing from a host crashes the parser ---------------------------------------------




REPORT_WORDS = st.sampled_from([
    "@@nixdeck-facts-begin", "@@nixdeck-facts-end", "files", "profile", "generations", "generation-times",
    "failed-units-json", "failed-units-plain", "boot-time", "current-system", "0", "1", "x",
    "==> /proc/sys/kernel/hostname <==", "==> /proc/sys/kernel/osrelease <==", "==> /etc/os-release <==",
    "system-1-link", "/nix/store/x", "[", "]", "{", "}", '"unit"', "Startup finished in", "(kernel)", "+", "=",
    "1min", "2.5s", "ID=nixos", "\n",
])
REPORT_TEXT = st.one_of(st.text(max_size=300), st.lists(REPORT_WORDS, max_size=60).map(" ".join))


@PARSER_PROPERTIES
@given(REPORT_TEXT)
def test_parse_facts_raises_only_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_facts(text))


@PARSER_PROPERTIES
@given(st.data())
def test_parse_facts_on_damaged_reports(data: st.DataObject) -> None:
    report = data.draw(st.sampled_from([
        nixos_report(),
        nixos_report(analyze=ANALYZE_VM, failed=[section("failed-units-json", FAILED_OLD_TABLE)]),
    ]))
    start = data.draw(st.integers(0, len(report)))
    end = data.draw(st.integers(start, len(report)))
    damaged = report[:start] + data.draw(REPORT_TEXT) + report[end:]
    only_parse_errors(lambda: parse_facts(damaged))


@PARSER_PROPERTIES
@given(st.text())
def test_parse_os_release_never_raises(text: str) -> None:
    assert isinstance(parse_os_release(text), dict)


@PARSER_PROPERTIES
@given(st.one_of(st.text(), st.from_regex(r"\A(\d+(\.\d+)?(y|month|w|d|h|min|s|ms|us|x)? ?){0,4}\Z")))
def test_parse_systemd_span_raises_only_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_systemd_span(text))
