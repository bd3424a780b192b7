"""The pieces of the changing operations that need no host: how commands are
wrapped for root, sudo's probe, nix-store --gc's summary, the audit details
read back by the recheck, and choosing a rollback target."""

from __future__ import annotations

import pytest

from console.changes import ReadOnlyError, refuse_if_read_only
from console.cleanup_steps import parse_gc_summary
from console.generations import SystemGeneration
from console.privilege import Elevation, Privilege, PrivilegeError, parse_probe
from console.recheck import (
    check_cleanup,
    check_rollback,
    parse_cleanup_detail,
    parse_rollback_detail,
)
from console.rollback import RollbackError, choose_target


def test_commands_run_as_they_are_for_root_and_behind_sudo_otherwise() -> None:
    argv = ["nix-env", "-p", "/nix/var/nix/profiles/system", "--delete-generations", "3"]
    assert Elevation(Privilege.ROOT).argv(argv) == argv
    assert Elevation(Privilege.SUDO).argv(argv) == ["sudo", "-n", "--", *argv]
    with_password = Elevation(Privilege.SUDO_PASSWORD, "s3cret")
    assert with_password.argv(argv) == ["sudo", "-S", "-k", "-p", "", "--", *argv]
    assert with_password.stdin() == "s3cret\n" and with_password.stdin("data\n") == "s3cret\ndata\n"
    assert Elevation(Privilege.SUDO).stdin("data\n") == "data\n"
    with pytest.raises(PrivilegeError):
        Elevation(Privilege.NONE)
    with pytest.raises(ValueError):
        Elevation(Privilege.SUDO, "not wanted")


@pytest.mark.parametrize(("report", "privilege"), [
    ("uid 0\nsudo missing\nend\n", Privilege.ROOT),
    ("uid 1000\nsudo passwordless\nend\n", Privilege.SUDO),
    ("uid 1000\nsudo password\nend\n", Privilege.SUDO_PASSWORD),
    ("uid 1000\nsudo missing\nend\n", Privilege.NONE),
])
def test_the_privilege_probe(report: str, privilege: Privilege) -> None:
    assert parse_probe(report) is privilege


def test_a_cut_probe_is_refused() -> None:
    with pytest.raises(PrivilegeError):
        parse_probe("uid 0\n")


def test_read_only_refuses_with_the_way_out() -> None:
    refuse_if_read_only(False, "gc")
    with pytest.raises(ReadOnlyError, match="--read-only"):
        refuse_if_read_only(True, "gc")


@pytest.mark.parametrize(("output", "summary"), [
    ("finding garbage collector roots...\ndeleting garbage...\n6 store paths deleted, 0.01 MiB freed\n", (6, 10486)),
    ("1 store path deleted, 12.50 GiB freed", (1, 13421772800)),
    ("0 store paths deleted, 0.00 MiB freed\n", (0, 0)),
    ("error: cannot connect to daemon", None),
])
def test_the_gc_summary(output: str, summary: tuple[int, int] | None) -> None:
    assert parse_gc_summary(output) == summary


def test_audit_details_are_read_back() -> None:
    assert parse_rollback_detail("to generation 5 (switch) from 6") == (5, "switch")
    assert parse_rollback_detail("to generation 5 (sideways) from 6") is None
    assert parse_cleanup_detail("delete generations 1 3 4; collect garbage; refresh boot entries") == (1, 3, 4)
    assert parse_cleanup_detail("delete generations none; collect garbage") == ()
    assert parse_cleanup_detail("refused: read-only") is None


def generation(number: int, *, current: bool = False, running: bool = False) -> SystemGeneration:
    return SystemGeneration(number, f"/nix/store/{'a' * 32}-nixos-system-{number}", current=current, running=running)


def test_the_recheck_judges_by_the_host() -> None:
    assert check_rollback(5, "switch", generation(5, current=True, running=True))[1].value == "succeeded"
    assert check_rollback(5, "switch", generation(5, current=True))[1].value == "failed"
    assert check_rollback(5, "boot", generation(5, current=True))[1].value == "succeeded"
    assert check_rollback(5, "boot", generation(6, current=True))[1].value == "failed"
    assert check_cleanup((1, 3), {2, 5})[1].value == "succeeded"
    assert check_cleanup((1, 3), {1, 2})[0].endswith("generations 1 are still there")


def test_the_rollback_target() -> None:
    generations = (generation(2), generation(3), generation(5, current=True), generation(6))
    assert [g.number for g in choose_target(generations, None)] == [5, 3]
    assert [g.number for g in choose_target(generations, 6)] == [5, 6]
    with pytest.raises(RollbackError, match="already the current"):
        choose_target(generations, 5)
    with pytest.raises(RollbackError, match="no generation 4"):
        choose_target(generations, 4)
    with pytest.raises(RollbackError, match="oldest"):
        choose_target((generation(1, current=True),), None)
