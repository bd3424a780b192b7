"""The test fleet itself, checked with the real OpenSSH client.

Tests on the shared `fleet3` only read (or restore what they change); tests
that kill hosts or change their system use a fleet of their own.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest

from tests.fleet import HostSpec, TestFleet, TestHost

PROFILE = "/nix/var/nix/profiles/system"


def ssh(fleet: TestFleet, host: TestHost, command: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `command` on `host` as root, trusting only the fleet's known_hosts."""
    argv = [
        "ssh", "-F", str(fleet.ssh_config), "-i", str(fleet.client_key),
        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
        # The default post-quantum key exchange costs ~80 ms per connection.
        "-o", "KexAlgorithms=curve25519-sha256",
        "-o", f"UserKnownHostsFile={fleet.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes", "-p", str(host.port), f"root@{host.address}", command,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"ssh {host.name} {command!r} exited {result.returncode}: {result.stderr}")
    return result


def served_fingerprint(host: TestHost) -> str:
    """The fingerprint of the ed25519 key the host's sshd actually offers."""
    scan = subprocess.run(
        ["ssh-keyscan", "-t", "ed25519", "-p", str(host.port), host.address],
        capture_output=True, text=True, check=True, timeout=10,
    )
    listed = subprocess.run(["ssh-keygen", "-lf", "-"], input=scan.stdout, capture_output=True, text=True, check=True)
    return listed.stdout.split()[1]


def journal(fleet: TestFleet, host: TestHost) -> list[dict]:
    out = ssh(fleet, host, "journalctl -o json --no-pager").stdout
    return [json.loads(line) for line in out.splitlines()]


# --- the shared fleet ---------------------------------------------------------


def test_each_host_has_its_own_identity(fleet3):
    for host in fleet3.hosts:
        out = ssh(fleet3, host, "hostname; cat /etc/hostname /etc/machine-id").stdout.split()
        assert out == [host.name, host.name, host.machine_id]
        assert served_fingerprint(host) == host.host_key_fingerprint
    assert len({host.port for host in fleet3.hosts}) == 3


def test_run_executes_inside_the_host(fleet3):
    alpha = fleet3.host("alpha")
    assert alpha.run(["hostname"]).stdout == "alpha\n"
    assert alpha.run(["readlink", "/run/current-system"]).stdout.strip() == alpha.generations[-1].store_path
    assert alpha.run(["false"], check=False).returncode == 1


def test_os_release_says_nixos_of_the_running_generation(fleet3):
    for host in fleet3.hosts:
        text = ssh(fleet3, host, "cat /etc/os-release").stdout
        fields = dict(line.split("=", 1) for line in text.splitlines())
        running = host.generations[host.current_generation - 1]
        assert fields["NAME"] == "NixOS"
        assert fields["ID"] == "nixos"
        assert fields["VERSION_ID"] == '"24.05"'
        assert fields["PRETTY_NAME"] == '"NixOS 24.05 (Uakari)"'
        assert fields["VERSION_CODENAME"] == "uakari"
        assert fields["BUILD_ID"] == f'"{running.nixos_version}"'
        assert ssh(fleet3, host, "nixos-version").stdout == f"{running.nixos_version} (Uakari)\n"


def test_generations_are_listed_with_the_current_one_marked(fleet3):
    line_re = re.compile(r"^ *(\d+)   (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)   (\(current\))?$")
    for host in fleet3.hosts:
        out = ssh(fleet3, host, f"nix-env -p {PROFILE} --list-generations").stdout
        listed = [line_re.match(line).groups() for line in out.splitlines()]
        expected = [
            (str(gen.number), time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(gen.created)),
             "(current)" if gen.number == host.current_generation else None)
            for gen in host.generations
        ]
        assert listed == expected
        assert 3 <= len(host.generations) <= 6


def test_generation_contents_match_the_truth(fleet3):
    gamma = fleet3.host("gamma")
    versions = set()
    for gen in gamma.generations:
        link = f"{PROFILE}-{gen.number}-link"
        out = ssh(
            fleet3, gamma,
            f"readlink {link}; cat {link}/nixos-version; echo; cat {link}/system; echo;"
            f" ls {link}/kernel-modules/lib/modules;"
            f" test -x {link}/bin/switch-to-configuration && test -s {link}/kernel && test -s {link}/init && echo ok;"
            f" {link}/sw/bin/nixos-version",
        ).stdout.splitlines()
        assert out == [gen.store_path, gen.nixos_version, "x86_64-linux", gen.kernel_version, "ok",
                       f"{gen.nixos_version} (Uakari)"]
        assert gen.store_path.endswith(f"-nixos-system-gamma-{gen.nixos_version}")
        versions.add(gen.nixos_version)
    assert len(versions) == len(gamma.generations)
    assert gamma.generations[4].kernel_version != gamma.generations[5].kernel_version


def test_running_and_booted_systems_match_the_truth(fleet3):
    for host in fleet3.hosts:
        current, booted = ssh(fleet3, host, "readlink /run/current-system /run/booted-system").stdout.split()
        assert current == host.generations[host.current_generation - 1].store_path
        assert booted == host.generations[host.booted_generation - 1].store_path
    gamma = fleet3.host("gamma")
    assert (gamma.current_generation, gamma.booted_generation) == (6, 5)


def test_generation_closures_hold_their_packages(fleet3):
    alpha = fleet3.host("alpha")
    names = set()
    for gen in alpha.generations:
        closure = set(ssh(fleet3, alpha, f"nix-store -qR {gen.store_path}").stdout.split())
        assert {gen.store_path, *gen.packages} <= closure
        names |= {path.split("-", 1)[1] for path in closure}
    assert {"hello-2.12.1", "firefox-120.0", "firefox-121.0", "openssl-3.0.13"} <= names
    # firefox's own reference to openssl is part of the closure too.
    firefox = next(p for p in alpha.generations[-1].packages if p.endswith("-firefox-121.0"))
    assert ssh(fleet3, alpha, f"nix-store -q --references {firefox}").stdout.strip().endswith("-openssl-3.0.13")


def test_journal_holds_the_seeded_entries_and_logged_ones(fleet3):
    alpha = fleet3.host("alpha")
    marker = f"logged by the test {uuid.uuid4()}"
    alpha.log(marker, priority=4, extra={"NIXDECK_LINES": "two\nlines", "NIXDECK_RAW": b"\x00\xff"})
    entries = journal(fleet3, alpha)
    assert [e["MESSAGE"] for e in entries[:len(alpha.seeded_entries)]] == [
        e["MESSAGE"] for e in alpha.seeded_entries
    ]
    assert len(alpha.seeded_entries) >= 20
    assert {e["_HOSTNAME"] for e in entries} == {"alpha"}
    assert {e["_BOOT_ID"] for e in entries} == {alpha.boot_id}
    assert {"3", "4", "6"} <= {e["PRIORITY"] for e in entries}
    assert {"sshd.service", "nginx.service", "systemd-logind.service"} <= {e.get("_SYSTEMD_UNIT") for e in entries}
    logged = entries[-1]
    assert logged["MESSAGE"] == marker
    assert logged["PRIORITY"] == "4"
    assert logged["_SYSTEMD_UNIT"] == "nixdeck-test.service"
    assert logged["SYSLOG_IDENTIFIER"] == "nixdeck-test"
    assert logged["NIXDECK_LINES"] == "two\nlines"
    assert logged["NIXDECK_RAW"] == [0, 255]
    assert abs(int(logged["__REALTIME_TIMESTAMP"]) / 1e6 - time.time()) < 60


def test_failed_units_are_logged_as_errors(fleet3):
    gamma = fleet3.host("gamma")
    errors = ssh(fleet3, gamma, "journalctl -o json --no-pager -p err -u nginx.service").stdout.splitlines()
    assert [json.loads(line)["MESSAGE"] for line in errors] == ["Failed to start nginx.service - Nginx Web Server."]


def test_journal_follow_sees_entries_logged_later(fleet3):
    beta = fleet3.host("beta")
    argv = [
        "ssh", "-F", str(fleet3.ssh_config), "-i", str(fleet3.client_key), "-o", "BatchMode=yes",
        "-o", f"UserKnownHostsFile={fleet3.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-p", str(beta.port), "root@127.0.0.1", "journalctl -o json -f -n 0 --no-pager",
    ]
    marker = f"followed {uuid.uuid4()}"
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as follower:
        try:
            deadline = time.monotonic() + 20
            seen = []
            while marker not in seen:
                # journalctl -f may still be starting: log until it reports.
                beta.log(marker)
                ready, _, _ = select.select([follower.stdout], [], [], 1.0)
                if ready:
                    seen.append(json.loads(follower.stdout.readline())["MESSAGE"])
                assert time.monotonic() < deadline, "journalctl -f never showed the entry"
        finally:
            follower.kill()


def test_systemctl_shim(fleet3):
    alpha, gamma = fleet3.host("alpha"), fleet3.host("gamma")
    listed = ssh(fleet3, gamma, "systemctl list-units --failed --output=json --no-pager").stdout
    assert listed == ('[{"unit":"nginx.service","load":"loaded","active":"failed","sub":"failed",'
                      '"description":"Nginx Web Server"}]\n')
    plain = ssh(fleet3, gamma, "systemctl list-units --failed --no-legend --plain --no-pager").stdout
    assert plain == "nginx.service loaded failed failed Nginx Web Server\n"
    degraded = ssh(fleet3, gamma, "systemctl is-system-running", check=False)
    assert (degraded.stdout, degraded.returncode) == ("degraded\n", 1)

    assert ssh(fleet3, alpha, "systemctl list-units --failed --output=json --no-pager").stdout == "[]\n"
    assert ssh(fleet3, alpha, "systemctl list-units --failed --no-legend --plain --no-pager").stdout == ""
    assert ssh(fleet3, alpha, "systemctl is-system-running").stdout == "running\n"
    unknown = ssh(fleet3, alpha, "systemctl frobnicate", check=False)
    assert (unknown.returncode, unknown.stderr) == (1, "Unknown command verb frobnicate.\n")
    needs_systemd = ssh(fleet3, alpha, "systemctl restart nginx.service", check=False)
    assert needs_systemd.returncode == 1
    assert "Failed to connect to bus" in needs_systemd.stderr


def test_set_failed_units_changes_what_systemctl_reports(fleet_factory):
    fleet = fleet_factory([HostSpec("delta")])
    delta = fleet.host("delta")
    delta.set_failed_units(["restic-backups-daily.service", "nginx.service", "a.mount"])
    plain = ssh(fleet, delta, "systemctl list-units --failed --no-legend --plain --no-pager").stdout
    assert plain == (
        "a.mount                      loaded failed failed a.mount\n"
        "nginx.service                loaded failed failed Nginx Web Server\n"
        "restic-backups-daily.service loaded failed failed restic backup daily\n"
    )
    assert ssh(fleet, delta, "systemctl is-system-running", check=False).stdout == "degraded\n"


def test_systemd_analyze_shim(fleet3):
    span = r"(\d+min )?\d+(\.\d{3})?s"
    desktop = ssh(fleet3, fleet3.host("alpha"), "systemd-analyze").stdout
    assert re.fullmatch(
        rf"Startup finished in {span} \(firmware\) \+ {span} \(loader\) \+ {span} \(kernel\) \+ {span} \(initrd\)"
        rf" \+ {span} \(userspace\) = {span} \n"
        rf"graphical\.target reached after {span} in userspace\.\n", desktop)
    server = ssh(fleet3, fleet3.host("gamma"), "systemd-analyze time").stdout
    assert re.fullmatch(
        rf"Startup finished in {span} \(kernel\) \+ {span} \(initrd\) \+ {span} \(userspace\) = {span} \n"
        rf"multi-user\.target reached after {span} in userspace\.\n", server)
    assert desktop != ssh(fleet3, fleet3.host("beta"), "systemd-analyze").stdout

    blame = ssh(fleet3, fleet3.host("gamma"), "systemd-analyze blame").stdout.splitlines()
    spans = [line.rsplit(" ", 1)[0] for line in blame]  # unit names have no spaces
    assert len({len(span) for span in spans}) == 1  # right-aligned in one column
    assert re.fullmatch(r"1min \d+\.\d{3}s", spans[0]) and blame[0].endswith(" nix-gc.service")
    assert all(re.fullmatch(r" *(\d+(\.\d{3})?s|\d+ms)", span) for span in spans[1:])
    assert "1s" in [span.strip() for span in spans]


def test_powerprofilesctl_only_on_the_laptop(fleet3):
    beta = fleet3.host("beta")
    assert ssh(fleet3, beta, "powerprofilesctl list").stdout == (
        "  performance:\n"
        "    CpuDriver:\tintel_pstate\n"
        "    PlatformDriver:\tplatform_profile\n"
        "    Degraded:   no\n"
        "\n"
        "* balanced:\n"
        "    CpuDriver:\tintel_pstate\n"
        "    PlatformDriver:\tplatform_profile\n"
        "\n"
        "  power-saver:\n"
        "    CpuDriver:\tintel_pstate\n"
        "    PlatformDriver:\tplatform_profile\n"
    )
    try:
        ssh(fleet3, beta, "powerprofilesctl set power-saver")
        assert ssh(fleet3, beta, "powerprofilesctl get").stdout == "power-saver\n"
        assert "* power-saver:" in ssh(fleet3, beta, "powerprofilesctl").stdout
    finally:
        ssh(fleet3, beta, "powerprofilesctl set balanced")
    refused = ssh(fleet3, beta, "powerprofilesctl set turbo", check=False)
    assert refused.returncode == 1 and "Invalid profile name 'turbo'" in refused.stderr
    for name in ("alpha", "gamma"):
        assert ssh(fleet3, fleet3.host(name), "powerprofilesctl get", check=False).returncode == 127


def test_battery_only_on_the_laptop(fleet3):
    beta = fleet3.host("beta")
    out = ssh(fleet3, beta, "cd /sys/class/power_supply && ls && cat BAT0/type BAT0/status BAT0/capacity AC/type"
                            " AC/online && test ! -e BAT0/scope && cat BAT0/uevent").stdout.splitlines()
    assert out[:7] == ["AC", "BAT0", "Battery", "Discharging", "76", "Mains", "0"]
    uevent = dict(line.split("=", 1) for line in out[7:])
    assert uevent["POWER_SUPPLY_NAME"] == "BAT0"
    assert uevent["POWER_SUPPLY_CAPACITY"] == "76"
    assert uevent["POWER_SUPPLY_STATUS"] == "Discharging"
    assert int(uevent["POWER_SUPPLY_ENERGY_NOW"]) == int(uevent["POWER_SUPPLY_ENERGY_FULL"]) * 76 // 100
    for name in ("alpha", "gamma"):
        host = fleet3.host(name)
        assert ssh(fleet3, host, "ls -A /sys/class/power_supply").stdout == ""
        with pytest.raises(ValueError):
            host.set_battery(50)


def test_config_toml_describes_the_fleet(fleet3):
    config = tomllib.loads(fleet3.config_toml(extra='[ui]\ntheme = "dark"\n'))
    assert [(h["name"], h["port"], h["tags"]) for h in config["hosts"]] == [
        ("alpha", fleet3.host("alpha").port, ["workstation"]),
        ("beta", fleet3.host("beta").port, ["laptop"]),
        ("gamma", fleet3.host("gamma").port, ["server"]),
    ]
    assert {h["address"] for h in config["hosts"]} == {"127.0.0.1"}
    assert {h["user"] for h in config["hosts"]} == {"root"}
    assert {h["identity_file"] for h in config["hosts"]} == {str(fleet3.client_key)}
    assert config["ssh"] == {
        "known_hosts": str(fleet3.known_hosts), "config_file": str(fleet3.ssh_config),
        "connect_timeout": 5, "keepalive": 5, "reconnect_max": 2,
    }
    assert config["ui"] == {"theme": "dark"}
    only_beta = tomllib.loads(fleet3.config_toml([fleet3.host("beta")]))
    assert [h["name"] for h in only_beta["hosts"]] == ["beta"]


# --- fleets of their own --------------------------------------------------------


def test_kill_and_revive(fleet_factory):
    fleet = fleet_factory([HostSpec("delta"), HostSpec("epsilon", known=False)])
    delta, epsilon = fleet.host("delta"), fleet.host("epsilon")
    unknown = ssh(fleet, epsilon, "true", check=False)
    assert unknown.returncode == 255 and "Host key verification failed" in unknown.stderr

    ssh(fleet, delta, "touch /run/survives-an-outage")
    delta.kill()
    assert not delta.is_running()
    refused = ssh(fleet, delta, "true", check=False)
    assert refused.returncode == 255 and "Connection refused" in refused.stderr
    assert epsilon.run(["hostname"]).stdout == "epsilon\n"  # the other host lives on
    delta.log("logged during the outage")

    port, fingerprint = delta.port, delta.host_key_fingerprint
    delta.revive()
    assert delta.is_running() and delta.port == port and delta.host_key_fingerprint == fingerprint
    assert ssh(fleet, delta, "ls /run/survives-an-outage; hostname").stdout == "/run/survives-an-outage\ndelta\n"
    assert journal(fleet, delta)[-1]["MESSAGE"] == "logged during the outage"

    delta.kill()
    delta.revive(new_key=True)
    assert delta.host_key_fingerprint != fingerprint
    assert served_fingerprint(delta) == delta.host_key_fingerprint
    changed = ssh(fleet, delta, "true", check=False)
    assert changed.returncode == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in changed.stderr


def test_sessions_die_with_the_host(fleet_factory):
    fleet = fleet_factory([HostSpec("delta")])
    delta = fleet.host("delta")
    # A detached process inside the host, as a long-running operation would be.
    ssh(fleet, delta, "setsid sleep 600 >/dev/null 2>&1 </dev/null &")
    namespace = os.readlink(f"/proc/{delta.pids()[-1]}/ns/pid")
    members = processes_in_pid_namespace(namespace)
    assert len(members) >= 2  # sshd and the sleep
    delta.kill()
    assert processes_in_pid_namespace(namespace) == []


def test_switch_to_configuration_and_garbage_collection(fleet_factory):
    fleet = fleet_factory([HostSpec("zeta", generations=4)])
    zeta = fleet.host("zeta")
    first, second, newest = zeta.generations[0], zeta.generations[1], zeta.generations[3]

    out = ssh(fleet, zeta, f"{PROFILE}-2-link/bin/switch-to-configuration test").stdout
    assert "activating the configuration..." in out
    assert ssh(fleet, zeta, "readlink /run/current-system").stdout.strip() == second.store_path
    assert f'BUILD_ID="{second.nixos_version}"' in ssh(fleet, zeta, "cat /etc/os-release").stdout
    ssh(fleet, zeta, f"{PROFILE}/bin/switch-to-configuration boot")
    assert ssh(fleet, zeta, "readlink /run/current-system").stdout.strip() == second.store_path
    log = [line.split() for line in zeta.switch_log()]
    assert [(entry[1], entry[2]) for entry in log] == [(second.store_path, "test"), (newest.store_path, "boot")]
    assert all(abs(int(entry[0]) - time.time()) < 60 for entry in log)
    bad = ssh(fleet, zeta, f"{PROFILE}/bin/switch-to-configuration frob", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("Usage: ")

    assert ssh(fleet, zeta, "nix-store --gc --print-dead 2>/dev/null").stdout == ""
    ssh(fleet, zeta, f"nix-env -p {PROFILE} --delete-generations 1")
    dead = set(ssh(fleet, zeta, "nix-store --gc --print-dead 2>/dev/null").stdout.split())
    only_first = {first.store_path} | {p for p in first.packages if p not in second.packages}
    assert dead == only_first
    assert {p.split("-", 1)[1] for p in dead} == {
        first.store_path.split("-", 1)[1], "linux-6.6.30", "linux-6.6.30-modules", "initrd-linux-6.6.30",
    }
    ssh(fleet, zeta, "nix-store --gc")
    assert ssh(fleet, zeta, f"ls -d {' '.join(sorted(dead))}", check=False).returncode == 2
    ssh(fleet, zeta, f"nix-store --verify-path {second.store_path} && nix-store -qR {newest.store_path} >/dev/null")


def test_stop_leaves_no_process_and_no_mount(fleet_factory):
    fleet = fleet_factory([HostSpec("eta"), HostSpec("theta", laptop=True)])
    pids = [pid for host in fleet.hosts for pid in host.pids()]
    assert len(pids) == 4 and all(Path(f"/proc/{pid}").exists() for pid in pids)
    fleet.stop()
    fleet.stop()  # idempotent
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert not mounts_under(fleet.root)


def test_a_killed_test_run_leaves_nothing_behind(fleet_available, tmp_path):
    """PR_SET_PDEATHSIG and --kill-child: SIGKILL the process that owns the
    fleet, which runs no cleanup code, and every host dies anyway."""
    script = (
        "import json, sys, time\n"
        "from tests.fleet import HostSpec, TestFleet\n"
        "fleet = TestFleet(sys.argv[1])\n"
        "fleet.start([HostSpec('iota'), HostSpec('kappa')])\n"
        "print(json.dumps([pid for host in fleet.hosts for pid in host.pids()]), flush=True)\n"
        "time.sleep(600)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent))
    owner = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "fleet")],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        started = json.loads(owner.stdout.readline())
        assert len(started) == 4  # unshare and init of each host
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 10
    while [pid for pid in started if Path(f"/proc/{pid}").exists()]:
        assert time.monotonic() < deadline, "test host processes outlived their owner"
        time.sleep(0.05)
    assert not mounts_under(tmp_path / "fleet")


def mounts_under(root: Path) -> list[str]:
    """Mounts of any process, in any mount namespace, of something under `root`.

    mountinfo shows a bind mount's source relative to its filesystem, so
    match on the last two components of `root`, which are unique per test."""
    marker = f"/{root.parent.name}/{root.name}/"
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            text = (proc / "mountinfo").read_text()
        except OSError:
            continue  # the process went away
        found += [f"{proc.name}: {line}" for line in text.splitlines() if marker in line]
    return found


def processes_in_pid_namespace(namespace: str) -> list[int]:
    """Pids of every process in the PID namespace `namespace` ("pid:[N]")."""
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "ns/pid") == namespace:
                members.append(int(proc.name))
        except OSError:
            continue  # the process went away
    return members
