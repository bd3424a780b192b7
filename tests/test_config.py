"""Every broken-config case, checked by running the real `nixdeck` command:
one clear message naming the file, the key and the fix, exit status 2, no
traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import load_settings


def run_nixdeck(*args: str, env: dict[str, str] | None = None, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NIXDECK_")}
    environment.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "console", *args], capture_output=True, text=True, env=environment, timeout=60
    , check=False)


def assert_config_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
    assert "fix:" in result.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".config").mkdir()
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_toml_names_the_file_and_the_place(home: Path) -> None:
    config = write(home / "bad.toml", '[[hosts]]\nname = "p620\n')
    result = run_nixdeck("--config", str(config), "status", home=home)
    assert_config_error(result, str(config), "not valid TOML", "line 2")


def test_unknown_key_suggests_the_right_one(home: Path) -> None:
    config = write(home / "c.toml", '[[hosts]]\nname = "p620"\n\n[ssh]\nconect_timeout = 3\n')
    result = run_nixdeck("--config", str(config), "status", home=home)
    assert_config_error(result, str(config), "ssh.conect_timeout", "unknown key", "did you mean 'connect_timeout'")


def test_unknown_key_in_a_host_names_the_host(home: Path) -> None:
    config = write(home / "c.toml", '[[hosts]]\nname = "p620"\n\n[[hosts]]\nname = "razer"\nadress = "10.0.0.2"\n')
    result = run_nixdeck("--config", str(config), "status", home=home)
    assert_config_error(result, "hosts[1].adress (host 'razer')", "did you mean 'address'")


def test_wrong_type_says_what_to_write(home: Path) -> None:
    config = write(home / "c.toml", '[[hosts]]\nname = "p620"\nport = "twenty-two"\n')
    result = run_nixdeck("--config", str(config), "status", home=home)
    assert_config_error(result, str(config), "hosts[0].port", "'twenty-two'", "whole number")


def test_out_of_range_value(home: Path) -> None:
    config = write(home / "c.toml", "refresh_interval = 0\n")
    result = run_nixdeck("--config", str(config), home=home)
    assert_config_error(result, "refresh_interval", "greater than or equal to 0.2")


def test_duplicate_host_names(home: Path) -> None:
    config = write(home / "c.toml", '[[hosts]]\nname = "p620"\n\n[[hosts]]\nname = "p620"\n')
    result = run_nixdeck("--config", str(config), "status", "--json", home=home)
    assert_config_error(result, str(config), "hosts", "duplicate host name 'p620'", "rename or remove")


def test_missing_host_name(home: Path) -> None:
    config = write(home / "c.toml", '[[hosts]]\naddress = "10.0.0.2"\n')
    result = run_nixdeck("--config", str(config), "status", home=home)
    assert_config_error(result, "hosts[0].name", "required key is missing", 'name = "')


def test_missing_file_given_with_config(home: Path) -> None:
    result = run_nixdeck("--config", str(home / "nope.toml"), "status", home=home)
    assert_config_error(result, str(home / "nope.toml"), "not found", "--config")


def test_missing_file_given_by_environment(home: Path) -> None:
    result = run_nixdeck("status", env={"NIXDECK_CONFIG": str(home / "gone.toml")}, home=home)
    assert_config_error(result, str(home / "gone.toml"), "$NIXDECK_CONFIG")


def test_bad_environment_value_names_the_variable(home: Path) -> None:
    result = run_nixdeck("status", env={"NIXDECK_SSH__CONNECT_TIMEOUT": "soon"}, home=home)
    assert_config_error(result, "NIXDECK_SSH__CONNECT_TIMEOUT", "ssh.connect_timeout", "'soon'")


def test_bad_command_line_value(home: Path) -> None:
    result = run_nixdeck("--refresh-interval", "0.01", "status", home=home)
    assert_config_error(result, "command line", "refresh_interval")


def test_the_default_location_is_xdg_aware(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = home / "xdg"
    (xdg / "nixdeck").mkdir(parents=True)
    write(xdg / "nixdeck" / "config.toml", "hosts = 3\n")
    result = run_nixdeck("status", env={"XDG_CONFIG_HOME": str(xdg)}, home=home)
    assert_config_error(result, str(xdg / "nixdeck" / "config.toml"), "hosts")


def test_sources_rank_command_line_then_environment_then_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(home / "c.toml", 'refresh_interval = 3\njournal_buffer = 700\n[ssh]\nconnect_timeout = 4\n[[hosts]]\nname = "a"\n')
    monkeypatch.setenv("NIXDECK_REFRESH_INTERVAL", "5")
    monkeypatch.setenv("NIXDECK_JOURNAL_BUFFER", "900")
    monkeypatch.setenv("NIXDECK_SSH__KEEPALIVE", "7")
    settings, path = load_settings(config, {"refresh_interval": 9})
    assert path == config
    assert settings.refresh_interval == 9  # command line beats the environment
    assert settings.journal_buffer == 900  # environment beats the file
    assert settings.ssh.connect_timeout == 4  # the file beats the default
    assert settings.ssh.keepalive == 7  # nested keys through NIXDECK_SSH__...
    assert settings.facts_interval == 60  # the default


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parent.parent / "config" / "example.toml"
    for name in list(os.environ):
        if name.startswith("NIXDECK_"):
            monkeypatch.delenv(name)
    settings, _ = load_settings(example)
    assert [host.name for host in settings.hosts]
    assert any(host.local for host in settings.hosts)


def test_no_config_means_this_machine(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("NIXDECK_CONFIG", raising=False)
    settings, path = load_settings(None)
    assert path is None
    (only,) = settings.fleet
    assert only.local
