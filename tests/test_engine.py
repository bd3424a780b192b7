"""The engine against real sshd test hosts (see tests/fleet/README.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest

from config.loader import load_settings
from config.settings import Settings
from console.events import EngineEvent, JournalAppended
from console.fleet import Fleet
from console.model import HostState
from console.ssh import SshTransport, preferred_ciphers
from tests.fleet import HostSpec, TestFleet


def fleet_settings(fleet: TestFleet, tmp_path: Path, extra: str = "", **overrides: object) -> Settings:
    config = tmp_path / "nixdeck.toml"
    config.write_text(fleet.config_toml(extra=extra))
    settings, _ = load_settings(config, {"refresh_interval": 0.5, **overrides})
    return settings


async def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, detail: Callable[[], object] = lambda: ""
) -> float:
    """Poll until `condition` holds; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} {detail()}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class Recorder:
    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    def __call__(self, event: EngineEvent) -> None:
        self.events.append(event)

    def journal_messages(self, host: str) -> list[str]:
        return [
            entry.message
            for event in self.events
            if isinstance(event, JournalAppended) and event.host == host
            for entry in event.entries
        ]


async def test_every_host_comes_up_with_its_own_facts(fleet3: TestFleet, tmp_path: Path) -> None:
    async with Fleet(fleet_settings(fleet3, tmp_path)) as fleet:
        await fleet.wait_settled(20)
        for host in fleet3.hosts:
            monitor = fleet[host.name]
            assert monitor.status.state == HostState.UP, monitor.status
            facts = monitor.facts
            assert facts is not None, monitor.facts_error
            assert facts.hostname == host.name
            assert facts.is_nixos
            assert facts.current_generation == host.current_generation
            assert facts.booted_generation == host.booted_generation
            assert [g.number for g in facts.generations] == [g.number for g in host.generations]
            current = next(g for g in host.generations if g.number == host.current_generation)
            assert facts.current_system == current.store_path
            assert facts.nixos_version == current.nixos_version
        hostnames = {fleet[h.name].facts.hostname for h in fleet3.hosts}  # type: ignore[union-attr]
        assert len(hostnames) == 3
        assert fleet["gamma"].facts.reboot_pending  # type: ignore[union-attr]
        assert [u.unit for u in fleet["gamma"].facts.failed_units] == ["nginx.service"]  # type: ignore[union-attr]
        assert not fleet["alpha"].facts.failed_units  # type: ignore[union-attr]


async def test_samples_are_plausible_and_cpu_appears_on_the_second(fleet3: TestFleet, tmp_path: Path) -> None:
    recorder = Recorder()
    async with Fleet(fleet_settings(fleet3, tmp_path)) as fleet:
        fleet.subscribe(recorder)
        await fleet.wait_settled(20)
        for host in fleet3.hosts:
            monitor = fleet[host.name]
            first, *later = list(monitor.history)
            assert first.cpu_percent is None
            assert later and later[0].cpu_percent is not None
            sample = monitor.sample
            assert sample is not None
            assert 0 <= sample.cpu_percent <= 100  # type: ignore[operator]
            assert sample.per_cpu_percent and all(0 <= p <= 100 for p in sample.per_cpu_percent)
            raw = sample.raw
            assert raw.mem.total > 64 * 2**20 and 0 < raw.mem.used <= raw.mem.total
            assert raw.uptime_s > 0 and all(value >= 0 for value in raw.load)
            assert raw.disks and all(0 <= d.used <= d.total for d in raw.disks)
            assert sample.net_rx_bps is not None and sample.net_rx_bps >= 0
        assert fleet["beta"].sample.battery_percent == 76  # type: ignore[union-attr]
        assert fleet["beta"].sample.on_ac is False  # type: ignore[union-attr]
        assert fleet["alpha"].sample.battery_percent is None  # type: ignore[union-attr]


async def test_a_live_journal_entry_arrives_within_two_seconds(fleet3: TestFleet, tmp_path: Path) -> None:
    recorder = Recorder()
    async with Fleet(fleet_settings(fleet3, tmp_path)) as fleet:
        fleet.subscribe(recorder)
        await wait_for(lambda: len(fleet["alpha"].journal) > 0, 20, "alpha's journal backlog")
        backlog = recorder.journal_messages("alpha")
        assert backlog, "the seeded entries arrive as the backlog"
        marker = f"live entry {time.time_ns()}"
        fleet3.host("alpha").log(marker, priority=3, unit="backup.service")
        took = await wait_for(lambda: marker in recorder.journal_messages("alpha"), 2.0, "the live entry")
        entry = next(e for e in fleet["alpha"].journal if e.message == marker)
        assert entry.priority == 3 and entry.unit == "backup.service" and entry.hostname == "alpha"
        assert marker not in recorder.journal_messages("beta")
        print(f"live journal entry arrived after {took:.2f} s")


async def test_a_killed_host_goes_down_and_comes_back_with_its_journal_intact(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("delta", generations=3), HostSpec("omega", generations=3)])
    host = test_fleet.host("delta")
    recorder = Recorder()
    settings = fleet_settings(test_fleet, tmp_path)
    async with Fleet(settings) as fleet:
        fleet.subscribe(recorder)
        monitor = fleet["delta"]
        await wait_for(lambda: monitor.status.state == HostState.UP and len(monitor.journal) > 0, 20, "delta up")
        host.log("before the outage")
        await wait_for(lambda: "before the outage" in recorder.journal_messages("delta"), 5, "the first entry")

        host.kill()
        await wait_for(lambda: monitor.status.state == HostState.DOWN, 10, "delta shown down")
        assert monitor.status.error and monitor.status.last_seen is not None
        assert fleet["omega"].status.state == HostState.UP, "one host's outage leaves the others alone"
        for n in range(3):
            host.log(f"during the outage {n}")

        host.revive()
        took = await wait_for(lambda: monitor.status.state == HostState.UP, 15, "delta back up by itself")
        host.log("after the outage")
        await wait_for(lambda: "after the outage" in recorder.journal_messages("delta"), 5, "the entry after")

        messages = recorder.journal_messages("delta")
        assert len(messages) == len(set(messages)), "no entry is delivered twice"
        expected = ["before the outage", "during the outage 0", "during the outage 1", "during the outage 2", "after the outage"]
        assert messages[-5:] == expected, "nothing is lost across the reconnect"
        buffered = [entry.message for entry in monitor.journal]
        assert buffered[-5:] == expected and len(buffered) == len(set(buffered))
        await wait_for(lambda: monitor.sample is not None and monitor.sample.taken_at > time.time() - 2, 5, "fresh samples")
        print(f"delta reconnected {took:.2f} s after it was revived")


async def test_a_changed_host_key_is_refused_with_its_fingerprint(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("kappa", generations=3)])
    host = test_fleet.host("kappa")
    old_fingerprint = host.host_key_fingerprint
    async with Fleet(fleet_settings(test_fleet, tmp_path)) as fleet:
        monitor = fleet["kappa"]
        await wait_for(lambda: monitor.status.state == HostState.UP and monitor.facts is not None, 20, "kappa up")
        host.kill()
        host.revive(new_key=True)
        await wait_for(lambda: monitor.status.state == HostState.HOST_KEY_CHANGED, 15, "the key change", lambda: monitor.status)
        assert host.host_key_fingerprint != old_fingerprint
        assert monitor.status.fingerprint == host.host_key_fingerprint
        assert "CHANGED" in (monitor.status.error or "")
        # It stays refused: no retry (reconnect_max is 2 s here) accepts the new key.
        await asyncio.sleep(2.5)
        assert monitor.status.state == HostState.HOST_KEY_CHANGED
        assert monitor.facts is not None, "what was learnt before the change is kept"


async def test_an_unknown_host_is_refused_with_its_fingerprint(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("stranger", generations=3, known=False)])
    host = test_fleet.host("stranger")
    async with Fleet(fleet_settings(test_fleet, tmp_path)) as fleet:
        monitor = fleet["stranger"]
        await wait_for(lambda: monitor.status.state == HostState.HOST_KEY_UNKNOWN, 15, "the unknown key")
        assert monitor.status.fingerprint == host.host_key_fingerprint
        assert monitor.facts is None and monitor.sample is None


async def test_a_wrong_client_key_is_auth_failed(fleet3: TestFleet, tmp_path: Path) -> None:
    stranger_key = tmp_path / "stranger_key"
    await (await asyncio.create_subprocess_exec("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger_key))).wait()
    alpha = fleet3.host("alpha")
    config = tmp_path / "auth.toml"
    config.write_text(
        f'[[hosts]]\nname = "alpha"\naddress = "127.0.0.1"\nport = {alpha.port}\nuser = "root"\n'
        f'identity_file = "{stranger_key}"\n[ssh]\nknown_hosts = "{fleet3.known_hosts}"\n'
        f'config_file = "{tmp_path / "empty_ssh_config"}"\n'
    )
    (tmp_path / "empty_ssh_config").write_text("")
    settings, _ = load_settings(config)
    async with Fleet(settings) as fleet:
        await wait_for(lambda: fleet["alpha"].status.state == HostState.AUTH_FAILED, 15, "auth failure")


@pytest.mark.parametrize("hostile", ["a'b", "$(touch /tmp/nixdeck-pwned)", "; touch /tmp/nixdeck-pwned", "`id`", "x\ny", "*"])
async def test_arguments_reach_the_host_verbatim(fleet3: TestFleet, tmp_path: Path, hostile: str) -> None:
    settings = fleet_settings(fleet3, tmp_path)
    alpha = next(h for h in settings.hosts if h.name == "alpha")
    transport = SshTransport(alpha, settings.ssh)
    await transport.connect()
    try:
        result = await transport.run(["printf", "%s", hostile], timeout=10)
    finally:
        await transport.close()
    assert result.ok and result.stdout == hostile
    assert not fleet3.host("alpha").run(["sh", "-c", "test -e /tmp/nixdeck-pwned && echo yes || echo no"]).stdout.startswith("yes")


async def test_journal_filters_by_unit_and_priority(fleet3: TestFleet, tmp_path: Path) -> None:
    async with Fleet(fleet_settings(fleet3, tmp_path)) as fleet:
        monitor = fleet["alpha"]
        await wait_for(lambda: len(monitor.journal) > 0, 20, "alpha's journal")
        units = {entry.unit for entry in monitor.journal}
        assert "sshd.service" in units and len(units) > 1, units

        monitor.follow_journal(units=["sshd.service"])
        await wait_for(lambda: len(monitor.journal) > 0, 10, "the filtered journal")
        assert {entry.unit for entry in monitor.journal} == {"sshd.service"}

        monitor.follow_journal(priority="err")
        await wait_for(lambda: len(monitor.journal) > 0, 10, "errors only")
        assert all(entry.priority <= 3 for entry in monitor.journal)
        marker = f"filtered live {time.time_ns()}"
        fleet3.host("alpha").log(marker + " info", priority=6)
        fleet3.host("alpha").log(marker + " crit", priority=2)
        await wait_for(lambda: any(e.message == marker + " crit" for e in monitor.journal), 5, "the live error")
        assert not any(e.message == marker + " info" for e in monitor.journal)


async def test_aes_gcm_is_preferred_unless_the_ssh_config_chooses(tmp_path: Path) -> None:
    defaults = await asyncssh.SSHClientConnectionOptions.construct(config=(), host="alpha")
    assert preferred_ciphers(defaults.encryption_algs)[:2] == ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
    assert {cipher.encode() for cipher in preferred_ciphers(defaults.encryption_algs)} == set(defaults.encryption_algs)
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Ciphers chacha20-poly1305@openssh.com,aes256-ctr\n")
    chosen = await asyncssh.SSHClientConnectionOptions.construct(config=[str(ssh_config)], host="alpha")
    assert preferred_ciphers(chosen.encryption_algs) == ["chacha20-poly1305@openssh.com", "aes256-ctr"]
