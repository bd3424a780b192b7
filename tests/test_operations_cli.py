"""`nixdeck generations`, `gc` and `rollback` run as a user would run them,
against the test fleet's real Nix: what they change on the host, what they
leave alone, what the audit log then holds, and what read-only mode refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from console.audit import AuditLog, Outcome
from console.changes import DETACHED_SCRIPT
from console.generations import PROFILE
from tests.fleet import HostSpec, TestFleet, TestHost

ROOT = Path(__file__).parent.parent


def nixdeck(fleet: TestFleet, tmp_path: Path, *args: str, config_text: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "nixdeck.toml"
    config.write_text(config_text if config_text is not None else fleet.config_toml())
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NIXDECK_")}
    environment.update({"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")})
    return subprocess.run([sys.executable, "-m", "console", "--config", str(config), *args], capture_output=True,
                          text=True, env=environment, cwd=ROOT, timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def audit_entries(tmp_path: Path) -> list:
    with AuditLog(tmp_path / "data" / "nixdeck" / "audit.sqlite3") as audit:
        return list(reversed(audit.entries()))


def links(host: TestHost) -> set[int]:
    listing = host.run(["sh", "-c", f"ls -d {PROFILE}-*-link"], check=False).stdout.split()
    return {int(path.rsplit("-", 2)[-2]) for path in listing}


def profile_generation(host: TestHost) -> int:
    return int(host.run(["readlink", PROFILE]).stdout.strip().split("-")[1])


def running(host: TestHost) -> str:
    return host.run(["readlink", "/run/current-system"]).stdout.strip()


def present(host: TestHost, paths: list[str]) -> set[str]:
    return {p for p in paths if host.run(["test", "-e", p], check=False).returncode == 0}


def test_generations_lists_each_host_as_it_is(fleet3: TestFleet, tmp_path: Path) -> None:
    result = nixdeck(fleet3, tmp_path, "generations", "--json")
    assert result.returncode == 0, result.stderr
    reports = {report["host"]: report for report in json.loads(result.stdout)}
    for host in fleet3.hosts:
        listed = reports[host.name]["generations"]
        assert [g["number"] for g in listed] == [t.number for t in host.generations]
        assert [g["store_path"] for g in listed] == [t.store_path for t in host.generations]
        assert [g["number"] for g in listed if g["current"]] == [host.current_generation]
        assert all(g["closure_size"] > 0 for g in listed)
        assert reports[host.name]["store"]["generations"] == len(host.generations)
    text = nixdeck(fleet3, tmp_path, "generations", "alpha").stdout
    alpha = fleet3.host("alpha")
    assert text.startswith(f"alpha: {len(alpha.generations)} generations") and "current" in text


def test_gc_previews_without_yes_and_changes_nothing(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=6, booted_generation=2)])
    delta = fleet.host("delta")
    paths = [t.store_path for t in delta.generations]
    for args in (("gc", "delta", "--keep", "2"), ("gc", "delta", "--keep", "2", "--dry-run", "--yes")):
        result = nixdeck(fleet, tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert "delete     1" in result.stdout and "keep       2  (booted)" in result.stdout
        assert "preview only" in result.stdout
    assert links(delta) == {1, 2, 3, 4, 5, 6} and present(delta, paths) == set(paths)
    assert delta.switch_log() == []
    assert audit_entries(tmp_path) == []


def test_gc_keeping_2_deletes_exactly_the_others_collects_them_and_refreshes_the_boot_entries(
        fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=6, booted_generation=2)])
    delta = fleet.host("delta")
    by_number = {t.number: t.store_path for t in delta.generations}
    result = nixdeck(fleet, tmp_path, "gc", "delta", "--keep", "2", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    # 2 is booted, 5 and 6 the newest two (6 current): never the current or booted one.
    assert links(delta) == {2, 5, 6}
    assert present(delta, [by_number[n] for n in (1, 3, 4)]) == set()
    assert present(delta, [by_number[n] for n in (2, 5, 6)]) == {by_number[n] for n in (2, 5, 6)}
    # The boot entries were refreshed from the profile (generation 6), in boot mode.
    (switch,) = delta.switch_log()
    assert switch.split()[1:] == [by_number[6], "boot"]
    assert "garbage collection freed" in result.stdout
    (entry,) = audit_entries(tmp_path)
    assert entry.host == "delta" and entry.operation == "cleanup" and entry.outcome is Outcome.SUCCEEDED
    assert ["nix-env", "-p", PROFILE, "--delete-generations", "1", "3", "4"] in [list(c) for c in entry.commands]
    assert ["nix-store", "--gc"] in [list(c) for c in entry.commands]
    # The boot refresh runs detached from the connection (DETACHED_SCRIPT).
    assert any(list(c[:3]) == ["sh", "-c", DETACHED_SCRIPT] and list(c[-2:]) == [
        f"{PROFILE}/bin/switch-to-configuration", "boot"] for c in entry.commands)


def test_read_only_refuses_every_change_and_records_the_refusal(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    delta = fleet.host("delta")
    gc = nixdeck(fleet, tmp_path, "--read-only", "gc", "delta", "--keep", "1", "--yes")
    rollback = nixdeck(fleet, tmp_path, "--read-only", "rollback", "delta", "--yes")
    configured = nixdeck(fleet, tmp_path, "rollback", "delta", "--yes",
                         config_text="read_only = true\n" + fleet.config_toml())
    for result in (gc, rollback, configured):
        assert result.returncode == 1 and "read-only mode" in result.stdout
    assert links(delta) == {1, 2, 3, 4} and profile_generation(delta) == 4 and delta.switch_log() == []
    assert [(e.operation, e.outcome) for e in audit_entries(tmp_path)] == [
        ("cleanup", Outcome.REFUSED), ("rollback", Outcome.REFUSED), ("rollback", Outcome.REFUSED)]
    # Looking is still allowed.
    assert nixdeck(fleet, tmp_path, "--read-only", "generations", "delta").returncode == 0


def test_rollback_switches_to_the_previous_generation_and_confirms(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    delta = fleet.host("delta")
    by_number = {t.number: t.store_path for t in delta.generations}
    preview = nixdeck(fleet, tmp_path, "rollback", "delta")
    assert preview.returncode == 0 and "from generation 4 to 3" in preview.stdout and "preview only" in preview.stdout
    assert delta.switch_log() == []
    result = nixdeck(fleet, tmp_path, "rollback", "delta", "--yes",
                     config_text=fleet.config_toml() + "\n[rollback]\nconfirm_within = 5\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert profile_generation(delta) == 3 and running(delta) == by_number[3]
    assert [line.split()[1:] for line in delta.switch_log()] == [[by_number[3], "switch"]]
    time.sleep(7)  # past the safety net's deadline: confirmed, so it stays
    assert profile_generation(delta) == 3 and running(delta) == by_number[3]
    assert len(delta.switch_log()) == 1
    (entry,) = audit_entries(tmp_path)
    assert entry.operation == "rollback" and entry.outcome is Outcome.SUCCEEDED


def test_rollback_to_the_boot_default_does_not_switch_now(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    delta = fleet.host("delta")
    by_number = {t.number: t.store_path for t in delta.generations}
    result = nixdeck(fleet, tmp_path, "rollback", "delta", "--to", "2", "--boot", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert profile_generation(delta) == 2 and running(delta) == by_number[4]
    assert [line.split()[1:] for line in delta.switch_log()] == [[by_number[2], "boot"]]


def test_no_host_name_or_argument_reaches_a_shell(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=3)])
    delta = fleet.host("delta")
    marker = tmp_path / "injected"
    hostile = f"delta$(touch {marker});touch {marker}"
    config_text = fleet.config_toml().replace('name = "delta"', f"name = {json.dumps(hostile)}")
    listed = nixdeck(fleet, tmp_path, "generations", hostile, config_text=config_text)
    assert listed.returncode == 0, listed.stderr
    refused = nixdeck(fleet, tmp_path, "rollback", "delta", "--to", f"2;touch {marker}")
    assert refused.returncode == 2 and "not a whole number" in refused.stderr
    unknown = nixdeck(fleet, tmp_path, "gc", f"x`touch {marker}`")
    assert unknown.returncode == 2 and "no host called" in unknown.stderr
    assert not marker.exists()
    assert delta.run(["sh", "-c", f"test -e {marker}"], check=False).returncode != 0
