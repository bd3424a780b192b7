"""The audit log against real SQLite files, written by this process and by
other real processes (concurrent writers, one killed mid-operation)."""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.audit import (
    SCHEMA_VERSION,
    AuditError,
    AuditLog,
    AuditSchemaError,
    Outcome,
    OutputTail,
    default_audit_path,
)
from console.errors import TransportError

ROOT = Path(__file__).parent.parent
PASSWORD = "correct-horse-7431"

WRITER = """
import sys, time
from pathlib import Path
from console.audit import AuditLog, Outcome
log = AuditLog(Path(sys.argv[1]))
while not Path(sys.argv[2]).exists():
    time.sleep(0.001)
for n in range(200):
    entry_id = log.begin(sys.argv[3], "gc", [["nix-collect-garbage", "-d"]])
    log.add_command(entry_id, ["nix-store", "--gc"])
    log.finish(entry_id, outcome=Outcome.SUCCEEDED, exit_status=0, output_tail=f"row {n}")
"""

HOLDER = """
import sys, time
from pathlib import Path
from console.audit import AuditLog
log = AuditLog(Path(sys.argv[1]))
print(log.begin(sys.argv[2], "rollback", [["nixos-rebuild", "switch", "--rollback"]]), flush=True)
time.sleep(600)
"""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite3"


@pytest.fixture
def log(db_path: Path) -> Iterator[AuditLog]:
    with AuditLog(db_path) as audit_log:
        yield audit_log


def spawn(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def holding_process(db_path: Path, host: str) -> tuple[subprocess.Popen[str], int]:
    """A nixdeck-like process that began an operation on `host` and is still in it."""
    process = spawn(HOLDER, db_path, host)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def test_every_field_round_trips(log: AuditLog) -> None:
    before = time.time()
    entry_id = log.begin("alpha", "gc", [["nix-env", "--delete-generations", "3", "4", "5"]], detail="keeping 2")
    log.add_command(entry_id, ["nix-store", "--gc", "--print-dead"])
    log.add_command(entry_id, ["sh", "-c", "echo 'a b' > /tmp/x"])
    log.finish(
        entry_id,
        outcome=Outcome.FAILED,
        exit_status=1,
        output_tail="deleting 3\nerror: disk full\n",
        detail="kept 2, deleted 3 4 5, freed 1.2 GiB",
        reason="nix-store exited with status 1",
    )

    entry = log.entry(entry_id)
    assert entry.id == entry_id
    assert entry.local_user == pwd.getpwuid(os.getuid()).pw_name
    assert (entry.host, entry.operation) == ("alpha", "gc")
    assert entry.commands == (
        ("nix-env", "--delete-generations", "3", "4", "5"),
        ("nix-store", "--gc", "--print-dead"),
        ("sh", "-c", "echo 'a b' > /tmp/x"),
    )
    assert entry.command_lines[2] == "sh -c 'echo '\"'\"'a b'\"'\"' > /tmp/x'"
    assert entry.ended is not None
    assert before <= entry.started <= entry.ended <= time.time()
    assert entry.exit_status == 1
    assert entry.output_tail == "deleting 3\nerror: disk full"
    assert entry.outcome is Outcome.FAILED
    assert entry.detail == "kept 2, deleted 3 4 5, freed 1.2 GiB"
    assert entry.reason == "nix-store exited with status 1"
    assert entry.pid == os.getpid()
    assert (entry.resolved_at, entry.resolution, entry.resolved_outcome) == (None, None, None)


def test_a_row_is_running_and_committed_before_anything_is_done(db_path: Path, log: AuditLog) -> None:
    entry_id = log.begin("alpha", "rollback", [["nixos-rebuild", "switch", "--rollback"]])
    with AuditLog(db_path) as other:
        entry = other.entry(entry_id)
    assert entry.outcome is Outcome.RUNNING
    assert entry.ended is None
    assert entry.commands == (("nixos-rebuild", "switch", "--rollback"),)


def test_a_row_is_settled_once(log: AuditLog) -> None:
    entry_id = log.begin("alpha", "gc")
    log.finish(entry_id, outcome=Outcome.SUCCEEDED, exit_status=0)
    with pytest.raises(AuditError, match="not running"):
        log.finish(entry_id, outcome=Outcome.FAILED)
    with pytest.raises(AuditError, match="not running"):
        log.add_command(entry_id, ["true"])
    assert not log.mark_unknown(entry_id, "gone")
    with pytest.raises(ValueError, match="verdict"):
        log.finish(log.begin("alpha", "gc"), outcome=Outcome.RUNNING)
    with pytest.raises(TypeError, match="argument list"):
        log.add_command(entry_id, "rm -rf /")
    with pytest.raises(KeyError):
        log.entry(9999)
    assert log.entry(entry_id).outcome is Outcome.SUCCEEDED


def test_two_processes_writing_at_once_lose_nothing(db_path: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    # Both open the new file together, so its creation is raced as well.
    writers = [spawn(WRITER, db_path, go, host) for host in ("alpha", "beta")]
    time.sleep(0.5)
    go.touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr

    with AuditLog(db_path) as log:
        entries = log.entries(limit=1000)
        assert len(entries) == 400
        for host in ("alpha", "beta"):
            mine = log.entries(host=host, limit=1000)
            assert {entry.output_tail for entry in mine} == {f"row {n}" for n in range(200)}
            assert all(len(entry.commands) == 2 and entry.outcome is Outcome.SUCCEEDED for entry in mine)


def test_a_killed_process_leaves_a_running_row_that_becomes_unknown(db_path: Path) -> None:
    killed, killed_id = holding_process(db_path, "alpha")
    living, living_id = holding_process(db_path, "beta")
    try:
        killed.send_signal(signal.SIGKILL)
        # Wait for the death but leave the zombie: a zombie is dead too.
        os.waitid(os.P_PID, killed.pid, os.WEXITED | os.WNOWAIT)
        with AuditLog(db_path) as log:
            own_id = log.begin("gamma", "gc")
            assert [entry.id for entry in log.interrupted()] == [killed_id]
            killed.wait()
            (interrupted,) = log.interrupted()
            assert interrupted.pid == killed.pid
            assert interrupted.commands == (("nixos-rebuild", "switch", "--rollback"),)

            assert log.mark_unknown(killed_id, f"nixdeck (pid {killed.pid}) ended before the operation did")
            assert not log.mark_unknown(killed_id, "a second nixdeck found it too")
            entry = log.entry(killed_id)
            assert entry.outcome is Outcome.UNKNOWN
            assert entry.ended is None
            assert entry.reason == f"nixdeck (pid {killed.pid}) ended before the operation did"
            assert log.interrupted() == []
            assert [entry.id for entry in log.unresolved("alpha")] == [killed_id]
            assert log.entry(living_id).outcome is log.entry(own_id).outcome is Outcome.RUNNING
    finally:
        for process in (killed, living):
            process.kill()
            process.communicate()


def test_a_reused_pid_is_not_taken_for_the_writer(db_path: Path, log: AuditLog) -> None:
    entry_id = log.begin("alpha", "rollback")
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE operations SET process_marker = 'another-boot/123' WHERE id = ?", (entry_id,))
    assert [entry.id for entry in log.interrupted()] == [entry_id]


def test_resolving_an_unknown_operation_keeps_it_unknown(log: AuditLog) -> None:
    entry_id = log.begin("alpha", "rollback")
    with log.operation("alpha", "gc") as done:
        done.succeeded()
    log.finish(entry_id, outcome=Outcome.UNKNOWN, reason="connection lost")

    found = "host on generation 6 after reconnect: rollback took effect"
    assert log.resolve(entry_id, found, Outcome.SUCCEEDED)
    assert not log.resolve(entry_id, "checked again", Outcome.FAILED)
    assert not log.resolve(done.id, "not unknown", Outcome.FAILED)
    with pytest.raises(ValueError, match="succeeded or failed"):
        log.resolve(entry_id, "?", Outcome.UNKNOWN)

    entry = log.entry(entry_id)
    assert entry.outcome is Outcome.UNKNOWN
    assert entry.reason == "connection lost"
    assert (entry.resolution, entry.resolved_outcome) == (found, Outcome.SUCCEEDED)
    assert entry.resolved_at is not None and entry.ended is not None and entry.resolved_at >= entry.ended
    assert log.unresolved("alpha") == []


def test_entries_filter_by_each_field_newest_first(log: AuditLog) -> None:
    def record(host: str, operation: str, outcome: Outcome, **texts: str) -> int:
        entry_id = log.begin(host, operation, [["nix-collect-garbage", "-d"]])
        log.finish(entry_id, outcome=outcome, **texts)  # type: ignore[arg-type]
        return entry_id

    gc_alpha = record("alpha", "gc", Outcome.SUCCEEDED, detail="freed 1.2 GiB")
    rollback_alpha = record("alpha", "rollback", Outcome.FAILED, output_tail="error: Disk full")
    time.sleep(0.01)
    midpoint = time.time()
    gc_beta = record("beta", "gc", Outcome.REFUSED, reason="read-only mode")
    boot_beta = record("beta", "boot-entries", Outcome.SUCCEEDED, detail="100% done_ok")

    def ids(**filters: object) -> list[int]:
        return [entry.id for entry in log.entries(**filters)]  # type: ignore[arg-type]

    assert ids() == [boot_beta, gc_beta, rollback_alpha, gc_alpha]
    assert ids(host="alpha") == [rollback_alpha, gc_alpha]
    assert ids(operation="gc") == [gc_beta, gc_alpha]
    assert ids(outcome=Outcome.SUCCEEDED) == [boot_beta, gc_alpha]
    assert ids(since=midpoint) == [boot_beta, gc_beta]
    assert ids(text="DISK FULL") == [rollback_alpha]
    assert ids(text="read-only") == [gc_beta]
    assert ids(text="1.2 gib") == [gc_alpha]
    assert ids(text="collect-garbage") == [boot_beta, gc_beta, rollback_alpha, gc_alpha]
    # LIKE's wildcards are taken literally.
    assert ids(text="100%") == [boot_beta]
    assert ids(text="e_o") == [boot_beta]
    assert ids(host="beta", operation="gc", outcome=Outcome.REFUSED, since=midpoint, text="mode") == [gc_beta]
    assert ids(host="gamma") == []
    assert ids(limit=2) == [boot_beta, gc_beta]


def test_the_operation_block_records_its_verdict(log: AuditLog) -> None:
    with log.operation("alpha", "gc", detail="deleting 3 4 5") as op:
        op.command(["nix-collect-garbage", "-d"])
        op.output("deleting '/nix/store/abc'\n")
        op.output(b"4 store paths deleted, 1.20 GiB freed\n")
        op.succeeded("freed 1.2 GiB")
    entry = log.entry(op.id)
    assert (entry.outcome, entry.exit_status, entry.detail) == (Outcome.SUCCEEDED, 0, "freed 1.2 GiB")
    assert entry.output_tail == "deleting '/nix/store/abc'\n4 store paths deleted, 1.20 GiB freed"

    with log.operation("alpha", "gc") as op:
        op.refused("read-only mode")
    assert (log.entry(op.id).outcome, log.entry(op.id).reason) == (Outcome.REFUSED, "read-only mode")

    with log.operation("alpha", "gc") as op:
        op.failed("nix-collect-garbage exited with status 1", exit_status=1)
    assert (log.entry(op.id).outcome, log.entry(op.id).exit_status) == (Outcome.FAILED, 1)


@pytest.mark.parametrize(
    ("error", "outcome", "reason"),
    [
        (ValueError("boom"), Outcome.FAILED, "ValueError: boom"),
        (TransportError("connection lost"), Outcome.UNKNOWN, "TransportError: connection lost"),
        (asyncio.CancelledError(), Outcome.UNKNOWN, "CancelledError"),
        (KeyboardInterrupt(), Outcome.UNKNOWN, "KeyboardInterrupt"),
    ],
)
def test_an_exception_leaving_the_block_is_recorded(
    log: AuditLog, error: BaseException, outcome: Outcome, reason: str
) -> None:
    with pytest.raises(type(error)), log.operation("alpha", "rollback", connection_lost=(TransportError,)) as op:
        op.command(["nixos-rebuild", "switch", "--rollback"])
        op.output("building the system configuration...\n")
        raise error
    entry = log.entry(op.id)
    assert (entry.outcome, entry.reason, entry.exit_status) == (outcome, reason, None)
    assert entry.output_tail == "building the system configuration..."
    assert entry.ended is not None


def test_a_block_without_a_verdict_failed(log: AuditLog) -> None:
    with log.operation("alpha", "gc") as op:
        op.command(["nix-collect-garbage"])
    assert (log.entry(op.id).outcome, log.entry(op.id).reason) == (Outcome.FAILED, "the operation ended without a verdict")

    with pytest.raises(RuntimeError), log.operation("alpha", "gc") as op:
        op.succeeded()
        raise RuntimeError("after the verdict")
    assert log.entry(op.id).outcome is Outcome.SUCCEEDED


def test_stdin_and_secrets_are_never_stored(db_path: Path) -> None:
    with AuditLog(db_path) as log:
        log.add_secret("api-token-9f8e")
        with log.operation("alpha", "gc", detail="as root") as op:
            op.command(["sudo", "--stdin", "--prompt=", "nix-collect-garbage", "-d"], stdin=PASSWORD + "\n")
            op.output(f"[sudo] password for root: {PASSWORD}\n")
            # A careless caller: the password in an argument and in the texts.
            op.command(["sh", "-c", f"echo {PASSWORD} | sudo -S true", "api-token-9f8e"])
            op.output("x" * 10_000 + PASSWORD + "y" * 4090)
            op.failed(f"sudo rejected {PASSWORD}", detail=f"tried {PASSWORD}")
        entry = log.entry(op.id)

    assert entry.commands == (
        ("sudo", "--stdin", "--prompt=", "nix-collect-garbage", "-d"),
        ("sh", "-c", "echo [redacted] | sudo -S true", "[redacted]"),
    )
    assert (entry.reason, entry.detail) == ("sudo rejected [redacted]", "tried [redacted]")
    # The long line was cut inside "[redacted]": no piece of the password is left.
    assert entry.output_tail.endswith("acted]" + "y" * 4090)
    assert PASSWORD[-6:] not in entry.output_tail
    stored = b"".join(path.read_bytes() for path in db_path.parent.glob("audit.sqlite3*"))
    assert b"[redacted]" in stored
    for secret in (PASSWORD, "api-token-9f8e", PASSWORD[:8], PASSWORD[-8:]):
        assert secret.encode() not in stored


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    db_path = tmp_path / "share" / "nixdeck" / "audit.sqlite3"
    old_umask = os.umask(0)
    try:
        with AuditLog(db_path) as log:
            log.finish(log.begin("alpha", "gc"), outcome=Outcome.SUCCEEDED)
            modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in db_path.parent.iterdir()}
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    assert modes == {"audit.sqlite3": 0o600, "audit.sqlite3-wal": 0o600, "audit.sqlite3-shm": 0o600}


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_audit_path() == tmp_path / "nixdeck" / "audit.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_audit_path() == Path.home() / ".local" / "share" / "nixdeck" / "audit.sqlite3"


def test_a_newer_schema_is_refused_and_left_alone(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE operations (id INTEGER PRIMARY KEY, future TEXT)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db_path.read_bytes()
    with pytest.raises(AuditSchemaError) as refused:
        AuditLog(db_path)
    assert str(refused.value) == (
        f"the audit log {db_path} has schema version {SCHEMA_VERSION + 1}, written by a newer nixdeck;"
        f" this one knows versions up to {SCHEMA_VERSION}: upgrade nixdeck, or move the file away"
    )
    assert db_path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_a_clear_error(db_path: Path) -> None:
    db_path.write_text("not sqlite " * 100)
    with pytest.raises(AuditError, match=f"cannot open the audit log {db_path}: file is not a database"):
        AuditLog(db_path)


def test_reopening_keeps_rows_and_schema(db_path: Path) -> None:
    with AuditLog(db_path) as log:
        entry_id = log.begin("alpha", "gc")
    with AuditLog(db_path) as log:
        assert log.entry(entry_id).host == "alpha"
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_output_tail_keeps_the_last_lines_within_bounds() -> None:
    tail = OutputTail(max_lines=5, max_bytes=4096)
    for n in range(10_000):
        tail.feed(f"line {n}\n")
    assert tail.text() == "\n".join(f"line {n}" for n in range(9995, 10_000))

    tail = OutputTail(max_lines=1000, max_bytes=100)
    tail.feed("".join(f"line {n:04}\n" for n in range(1000)))
    assert tail.text() == "\n".join(f"line {n:04}" for n in range(990, 1000))
    assert len(tail.text().encode()) <= 100

    tail = OutputTail(max_bytes=10)
    tail.feed("é" * 1_000_000)
    assert tail.text() == "é" * 5


def test_output_tail_strips_escapes_and_replaces_bad_bytes() -> None:
    tail = OutputTail()
    tail.feed(b"\x1b[1;31merror:\x1b[0m build failed\r\n")
    tail.feed(b"\x1b]0;window title\x07copying 10%\rcopying 55%\rcopying 100%\n")
    tail.feed(b"bad \xff\xfe bytes, a bell\x07 and a \x1b(Bcharset\n")
    # A character split between two reads is decoded whole.
    tail.feed("caf\u00e9 ".encode()[:4])
    tail.feed("caf\u00e9 ".encode()[4:] + b"\x1b[2K\x1b[1Gpartial")
    assert tail.text() == (
        "error: build failed\ncopying 100%\nbad \ufffd\ufffd bytes, a bell and a charset\ncafé partial"
    )
