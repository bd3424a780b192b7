"""`nixdeck status` end to end: the real command against the test fleet, and
against this machine with no config at all."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.fleet import HostSpec, TestFleet

REQUIRED_KEYS = {
    "name", "state", "error", "hostname", "os", "nixos_version", "kernel", "current_generation",
    "booted_generation", "uptime_s", "load", "cpu_percent", "mem_used_bytes", "mem_total_bytes", "disks",
    "battery_percent", "failed_units",
}


def nixdeck(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NIXDECK_")}
    environment.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True, env=environment, timeout=120, check=False)


def write_config(fleet: TestFleet, tmp_path: Path) -> Path:
    config = tmp_path / "fleet.toml"
    config.write_text(fleet.config_toml())
    return config


def test_status_json_matches_each_hosts_truth(fleet3: TestFleet, tmp_path: Path) -> None:
    result = nixdeck("--config", str(write_config(fleet3, tmp_path)), "status", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    reports = {report["name"]: report for report in json.loads(result.stdout)}
    assert set(reports) == {"alpha", "beta", "gamma"}
    for host in fleet3.hosts:
        report = reports[host.name]
        assert REQUIRED_KEYS <= set(report)
        assert report["state"] == "up" and report["error"] is None
        assert report["hostname"] == host.name
        assert report["os"].startswith("NixOS")
        current = next(g for g in host.generations if g.number == host.current_generation)
        assert report["nixos_version"] == current.nixos_version
        assert report["current_generation"] == host.current_generation
        assert report["booted_generation"] == host.booted_generation
        assert report["kernel"] == os.uname().release  # the test hosts share this machine's kernel
        assert 0 <= report["cpu_percent"] <= 100
        assert 0 < report["mem_used_bytes"] <= report["mem_total_bytes"]
        assert len(report["load"]) == 3 and report["uptime_s"] > 0
        assert report["disks"] and all({"mount", "used", "total"} <= set(d) for d in report["disks"])
    assert reports["beta"]["battery_percent"] == 76
    assert reports["alpha"]["battery_percent"] is None and reports["gamma"]["battery_percent"] is None
    assert reports["gamma"]["failed_units"] == ["nginx.service"] and reports["alpha"]["failed_units"] == []
    assert reports["gamma"]["reboot_pending"] is True and reports["alpha"]["reboot_pending"] is False


def test_status_table_lists_every_host(fleet3: TestFleet, tmp_path: Path) -> None:
    result = nixdeck("--config", str(write_config(fleet3, tmp_path)), "status", home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["HOST", "STATE", "CPU"]
    for name in ("alpha", "beta", "gamma"):
        assert any(line.startswith(name) and " up " in line for line in lines)
    assert any("reboot" in line or "(booted 5)" in line for line in lines if line.startswith("gamma"))


def test_status_exits_1_when_a_host_is_unreached(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("up-host", generations=3), HostSpec("gone-host", generations=3)])
    test_fleet.host("gone-host").kill()
    result = nixdeck("--config", str(write_config(test_fleet, tmp_path)), "status", "--json", home=tmp_path)
    assert result.returncode == 1
    reports = {report["name"]: report for report in json.loads(result.stdout)}
    assert reports["up-host"]["state"] == "up"
    assert reports["gone-host"]["state"] == "down"
    assert "refused" in reports["gone-host"]["error"]


def test_status_without_config_reports_this_machine(tmp_path: Path) -> None:
    (tmp_path / ".config").mkdir()
    result = nixdeck("status", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["name"] == socket.gethostname()
    assert report["state"] == "up"
    assert report["hostname"] == socket.gethostname()
    assert report["kernel"] == os.uname().release
    assert report["mem_total_bytes"] > 0 and report["cpu_percent"] is not None
    assert report["disks"]
