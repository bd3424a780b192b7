"""The overview's decisions on their own: alerts, filter, sort, short figures."""

from __future__ import annotations

from config.settings import HostConfig
from console.model import HostState, HostStatus
from console.overview import (
    Severity,
    age_text,
    fleet_alerts,
    host_alerts,
    matches_filter,
    rate_text,
    short_nixos_version,
    sort_hosts,
    uptime_text,
)
from console.sparkline import sparkline
from tests.frozen import NOW, frozen_fleet


def flags(name: str) -> list[str]:
    fleet = frozen_fleet()
    return [alert.flag for alert in host_alerts(fleet[name], NOW)]


def test_each_problem_a_user_must_not_miss_is_an_alert() -> None:
    assert flags("p620") == ["reboot"]
    assert flags("razer") == ["bat 12%"]
    assert flags("dex5550") == ["1 failed", "disk 93%"]
    assert flags("lab-nas") == ["down"]
    assert flags("new-laptop") == ["key?"]


def test_alert_details_say_what_and_how_long() -> None:
    fleet = frozen_fleet()
    (down,) = host_alerts(fleet["lab-nas"], NOW)
    assert down.detail == "down: connection refused, last seen 2 min ago, retrying in 8 s"
    (key,) = host_alerts(fleet["new-laptop"], NOW)
    assert "SHA256:Vq1yPjk0n1Jd7rN4cNoWnQ3fX0pZbq5m2oT8hYc6e2E" in key.detail
    (reboot,) = host_alerts(fleet["p620"], NOW)
    assert reboot.detail == "reboot pending: running generation 6, booted generation 5"
    assert host_alerts(fleet["dex5550"], NOW)[0].detail == "1 failed unit: nginx.service"


def test_a_changed_key_is_critical_and_a_down_host_shows_no_stale_metrics_alerts() -> None:
    fleet = frozen_fleet()
    nas = fleet["lab-nas"]
    nas.history.extend(fleet["dex5550"].history)  # a full disk, but the host is down: stale
    assert [alert.flag for alert in host_alerts(nas, NOW)] == ["down"]
    nas.status = HostStatus(HostState.HOST_KEY_CHANGED, since=NOW, fingerprint="SHA256:x")
    (alert,) = host_alerts(nas, NOW)
    assert alert.severity == Severity.CRITICAL and "CHANGED" in alert.detail and "SHA256:x" in alert.detail


def test_fleet_alerts_put_critical_first() -> None:
    alerts = fleet_alerts(frozen_fleet().monitors.values(), NOW)
    severities = [alert.severity for alert in alerts]
    assert severities == sorted(severities, reverse=True)
    assert {alert.host for alert in alerts} == {"p620", "razer", "dex5550", "lab-nas", "new-laptop"}


def test_the_filter_matches_name_or_tag_words() -> None:
    host = HostConfig(name="razer", address="x", tags=("laptop", "office"))
    assert matches_filter(host, "")
    assert matches_filter(host, "raz")
    assert matches_filter(host, "LAPTOP")
    assert matches_filter(host, "lap off")
    assert not matches_filter(host, "server")
    assert not matches_filter(host, "razer server")


def test_sorting_by_a_figure_puts_hosts_without_one_last() -> None:
    fleet = frozen_fleet()
    monitors = fleet.monitors.values()
    assert sort_hosts(monitors, "host") == ["dex5550", "lab-nas", "new-laptop", "p620", "razer"]
    by_disk = sort_hosts(monitors, "disk", descending=True)
    assert by_disk[0] == "dex5550" and set(by_disk[-2:]) == {"lab-nas", "new-laptop"}
    by_battery = sort_hosts(monitors, "battery")
    assert by_battery[0] == "razer"
    assert sort_hosts(monitors, "state", descending=True)[:2] == ["lab-nas", "new-laptop"]
    assert sort_hosts(monitors, "generation", descending=True)[:2] == ["p620", "lab-nas"]


def test_short_figures() -> None:
    assert [age_text(s) for s in (0, 59, 60, 3599, 7200, 90000)] == ["0 s", "59 s", "1 min", "59 min", "2 h", "1 d"]
    assert [uptime_text(s) for s in (59, 3 * 60, 3 * 3600 + 300, 3 * 86400 + 4 * 3600)] == ["0m", "3m", "3h5m", "3d4h"]
    assert [rate_text(b) for b in (0, 999, 1500, 12 * 1024**2, 3 * 1024**3)] == ["0B", "999B", "1.5K", "12M", "3.0G"]
    assert short_nixos_version("24.05.20240601.abcdef0 (Uakari)") == "24.05"
    assert short_nixos_version("unstable") == "unstable" and short_nixos_version(None) is None


def test_sparklines_scale_and_keep_their_width() -> None:
    assert sparkline([0, 50, 100], 3) == " ▄█"
    assert sparkline([1, None, 100], 5) == "  ▁ █"
    assert sparkline([0, 50, 100], 3, ascii=True) == " =#"
    assert sparkline(list(range(100)), 8) == sparkline(list(range(92, 100)), 8)
    assert sparkline([], 4) == "    "
