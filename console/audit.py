"""The audit log: a record of every change nixdeck makes to a host.

Each operation (deleting generations, garbage collection, a rollback, ...) is
one row of an SQLite database in the user's data directory: who ran it, on
which host, the exact commands, when it started and ended, the exit status,
the last lines of its output and its outcome. The row is written, as
"running", before anything is done, so that an operation cut off by nixdeck
dying is still on record; a later nixdeck finds it with `interrupted()`.

The record of what happened is never rewritten: a row is settled once (it
leaves "running"), and what a later check finds about an "unknown" one goes
into columns of its own (`resolve`).

Secrets are never stored. Commands are argument lists and nothing sent to a
command's stdin is recorded: stdin given to `add_command` or
`Operation.command` only tells the log what to scrub, and every text it
records afterwards (arguments, output, detail, reasons) has each line of it,
and each secret given to `add_secret`, replaced by "[redacted]".

The CLI and the console may write at once from separate processes: the
database is in WAL mode with a busy timeout, and each write is one statement.
"""

from __future__ import annotations

import codecs
import json
import os
import pwd
import re
import shlex
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Self

from console.errors import NixdeckError

OUTPUT_TAIL_BYTES = 4096
OUTPUT_TAIL_LINES = 50
BUSY_TIMEOUT_S = 10.0
REDACTED = "[redacted]"

# MIGRATIONS[n] takes a database from schema version n to n + 1. A later
# change appends a step (say "ALTER TABLE operations ADD COLUMN ...") and
# AuditEntry gains the field; existing databases are migrated when opened.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE operations (
            id INTEGER PRIMARY KEY,
            local_user TEXT NOT NULL,
            host TEXT NOT NULL,
            operation TEXT NOT NULL,
            commands TEXT NOT NULL,
            started REAL NOT NULL,
            ended REAL,
            exit_status INTEGER,
            output_tail TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL
                CHECK (outcome IN ('running', 'succeeded', 'failed', 'refused', 'unknown')),
            detail TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL,
            process_marker TEXT,
            resolved_at REAL,
            resolution TEXT,
            resolved_outcome TEXT CHECK (resolved_outcome IN ('succeeded', 'failed'))
        )
        """,
        "CREATE INDEX operations_by_host ON operations (host, started)",
        "CREATE INDEX operations_by_start ON operations (started)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class Outcome(StrEnum):
    """How an operation ended. The values are the database spelling."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    """Nothing was changed: read-only mode, a missing privilege, the user declined."""
    UNKNOWN = "unknown"
    """Cut off by a lost connection or by nixdeck ending: it may or may not have taken effect."""


class AuditError(NixdeckError):
    """The audit log cannot be opened or a record cannot be written as asked."""


class AuditSchemaError(AuditError):
    """The database was written by a newer nixdeck."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operation as recorded. Times are epoch seconds.

    `ended` is None while running and for an operation nobody saw end (its
    nixdeck died). `reason` says why an operation did not succeed. For an
    "unknown" operation checked later, `resolved_at`, `resolution` (what the
    check found) and `resolved_outcome` are set and `outcome` stays "unknown".
    """

    id: int
    local_user: str
    host: str
    operation: str
    commands: tuple[tuple[str, ...], ...]
    started: float
    ended: float | None
    exit_status: int | None
    output_tail: str
    outcome: Outcome
    detail: str
    reason: str
    pid: int
    resolved_at: float | None
    resolution: str | None
    resolved_outcome: Outcome | None

    @property
    def command_lines(self) -> tuple[str, ...]:
        """Each command as a shell would read it."""
        return tuple(shlex.join(argv) for argv in self.commands)


_COLUMNS = tuple(field.name for field in fields(AuditEntry))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM operations"
_NEWEST_FIRST = "ORDER BY started DESC, id DESC"
_SEARCHED_COLUMNS = ("host", "operation", "commands", "detail", "reason", "output_tail", "resolution")

# CSI (colours, cursor moves), OSC (titles, hyperlinks; may be unterminated
# in a cut line) and the two-character escapes; CSI and OSC come first since
# their introducers also fit the last form.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def default_audit_path() -> Path:
    """`$XDG_DATA_HOME/nixdeck/audit.sqlite3`, else `~/.local/share/nixdeck/audit.sqlite3`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nixdeck" / "audit.sqlite3"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret replaced by "[redacted]", longest first so that
    a secret containing another is replaced whole."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class OutputTail:
    """The last lines of a command's combined output, bounded in lines and bytes.

    Feed it bytes or text as they arrive. Undecodable bytes become U+FFFD,
    terminal escape sequences and other control characters are removed, and
    a line redrawn with carriage returns (a progress bar) keeps its last
    state. Memory stays within about `max_bytes` plus one line of at most
    16 * `max_bytes`.
    """

    def __init__(self, max_lines: int = OUTPUT_TAIL_LINES, max_bytes: int = OUTPUT_TAIL_BYTES) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines: deque[str] = deque()
        self._lines_size = 0
        self._partial = ""

    @classmethod
    def of(cls, output: bytes | str) -> OutputTail:
        tail = cls()
        tail.feed(output)
        return tail

    def feed(self, data: bytes | str) -> None:
        text = self._decoder.decode(data) if isinstance(data, bytes) else data
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete[-self.max_lines :]:
            self._keep(_clean_line(line))
        # A secret cut in two here lies far before the last max_bytes, all
        # that text() keeps of this line, so no piece of it gets stored.
        self._partial = self._partial[-16 * self.max_bytes :]

    def text(self, secrets: Iterable[str] = ()) -> str:
        """The tail, with `secrets` scrubbed before it is cut to size so that
        no piece of a secret survives at the cut."""
        lines = list(self._lines)
        if self._partial:
            lines.append(_clean_line(self._partial))
        kept: deque[str] = deque()
        budget = self.max_bytes
        for line in reversed(lines[-self.max_lines :]):
            encoded = redact(line, secrets).encode()
            if len(encoded) > budget:
                if not kept:
                    kept.appendleft(encoded[-budget:].decode("utf-8", "ignore"))
                break
            kept.appendleft(encoded.decode())
            budget -= len(encoded) + 1
        return "\n".join(kept)

    def _keep(self, line: str) -> None:
        self._lines.append(line)
        self._lines_size += _size(line)
        # Drop the oldest line once the others alone fill the byte budget.
        while len(self._lines) > self.max_lines or self._lines_size - _size(self._lines[0]) >= self.max_bytes:
            self._lines_size -= _size(self._lines.popleft())


class AuditLog:
    """The audit database at `path`, created (directory 0700, file 0600) and
    migrated to the current schema when needed.

    Safe to share between threads. Raises AuditError when the file cannot be
    opened and AuditSchemaError when a newer nixdeck wrote it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        try:
            self._db = _open(path)
        except (OSError, sqlite3.DatabaseError) as error:
            raise AuditError(f"cannot open the audit log {path}: {error}") from error

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_secret(self, secret: str) -> None:
        """Scrub `secret`, and each of its lines, from everything this log
        records from now on. Secrets are kept in memory only."""
        self._secrets.update(line for line in [secret.rstrip("\r\n"), *secret.splitlines()] if line.strip())

    def begin(self, host: str, operation: str, commands: Sequence[Sequence[str]] = (), detail: str = "") -> int:
        """Record an operation as running, before it changes anything; its id."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO operations (local_user, host, operation, commands, started, outcome, detail, pid, process_marker)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _local_user(),
                    host,
                    operation,
                    json.dumps([self._argv(argv) for argv in commands], ensure_ascii=False),
                    time.time(),
                    Outcome.RUNNING,
                    self._redact(detail),
                    os.getpid(),
                    _process_marker(os.getpid()),
                ),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_command(self, entry_id: int, argv: Sequence[str], *, stdin: str | None = None) -> None:
        """Record a command about to run. `stdin`, what the caller will send to
        it (a sudo password, say), is not recorded: it is scrubbed from all
        that is recorded from now on."""
        if stdin is not None:
            self.add_secret(stdin)
        argv_json = json.dumps(self._argv(argv), ensure_ascii=False)
        self._update_running(entry_id, "commands = json_insert(commands, '$[#]', json(?))", (argv_json,))

    def finish(
        self,
        entry_id: int,
        *,
        outcome: Outcome,
        exit_status: int | None = None,
        output_tail: OutputTail | bytes | str = "",
        detail: str | None = None,
        reason: str = "",
    ) -> None:
        """Settle a running operation. Output given as bytes or text is cut to
        an OutputTail; `detail` None keeps the one given to `begin`."""
        if outcome is Outcome.RUNNING:
            raise ValueError("finish needs a verdict, not running")
        tail = output_tail if isinstance(output_tail, OutputTail) else OutputTail.of(output_tail)
        self._update_running(
            entry_id,
            "ended = ?, outcome = ?, exit_status = ?, output_tail = ?, detail = COALESCE(?, detail), reason = ?",
            (
                time.time(),
                outcome,
                exit_status,
                tail.text(self._secrets),
                None if detail is None else self._redact(detail),
                self._redact(reason),
            ),
        )

    def mark_unknown(self, entry_id: int, reason: str) -> bool:
        """Settle a running operation whose process is gone as unknown (its end
        time stays unset: nobody saw it end). False if it was no longer
        running: another nixdeck got there first."""
        return self._update(
            entry_id, "outcome = ?, reason = ?", (Outcome.UNKNOWN, self._redact(reason)), "outcome = 'running'"
        )

    def interrupted(self) -> list[AuditEntry]:
        """Running operations whose nixdeck process is gone, newest first.

        A process is told apart from a later one with the same pid by the boot
        id and its start time; WAL databases are only shared on one machine,
        so another boot id means the writer died in a reboot.
        """
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)}, process_marker FROM operations"
                f" WHERE outcome = 'running' {_NEWEST_FIRST}"
            ).fetchall()
        entries = [(_entry(row[:-1]), row[-1]) for row in rows]
        return [entry for entry, marker in entries if _process_marker(entry.pid) != marker]

    def unresolved(self, host: str) -> list[AuditEntry]:
        """The host's unknown operations that no check has resolved, newest first."""
        return self._select("WHERE host = ? AND outcome = 'unknown' AND resolved_at IS NULL", [host])

    def resolve(self, entry_id: int, resolution: str, outcome: Outcome) -> bool:
        """Record what a later check found about an unknown operation and the
        outcome it implies (succeeded or failed); its outcome stays unknown.
        False if it was not unknown or already resolved."""
        if outcome not in (Outcome.SUCCEEDED, Outcome.FAILED):
            raise ValueError(f"a resolution is succeeded or failed, not {outcome}")
        return self._update(
            entry_id,
            "resolved_at = ?, resolution = ?, resolved_outcome = ?",
            (time.time(), self._redact(resolution), outcome),
            "outcome = 'unknown' AND resolved_at IS NULL",
        )

    def entry(self, entry_id: int) -> AuditEntry:
        """One operation; KeyError if there is none with this id."""
        found = self._select("WHERE id = ?", [entry_id])
        if not found:
            raise KeyError(entry_id)
        return found[0]

    def entries(
        self,
        host: str | None = None,
        operation: str | None = None,
        outcome: Outcome | None = None,
        since: float | None = None,
        text: str | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Operations matching every filter given, newest first. `since` is
        a start time; `text` is found, ignoring ASCII case, in the host,
        operation, commands, detail, reason, output or resolution."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (("host", host), ("operation", operation), ("outcome", outcome)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("started >= ?")
            params.append(since)
        if text:
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
            clauses.append("(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in _SEARCHED_COLUMNS) + ")")
            params.extend([pattern] * len(_SEARCHED_COLUMNS))
        where = "WHERE " + " AND ".join(clauses) if clauses else ""
        return self._select(where, params, limit)

    def operation(
        self,
        host: str,
        operation: str,
        *,
        commands: Sequence[Sequence[str]] = (),
        detail: str = "",
        connection_lost: tuple[type[BaseException], ...] = (),
    ) -> Operation:
        """Begin an operation and return it as a context manager; see Operation."""
        return Operation(self, self.begin(host, operation, commands, detail), connection_lost)

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _argv(self, argv: Sequence[str]) -> list[str]:
        if isinstance(argv, str):
            raise TypeError("a command is an argument list, not a string")
        return [self._redact(arg) for arg in argv]

    def _select(self, where: str, params: list[object], limit: int = -1) -> list[AuditEntry]:
        with self._lock:
            rows = self._db.execute(f"{_SELECT} {where} {_NEWEST_FIRST} LIMIT ?", [*params, limit]).fetchall()
        return [_entry(row) for row in rows]

    def _update(self, entry_id: int, assignments: str, params: tuple[object, ...], condition: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE operations SET {assignments} WHERE id = ? AND {condition}", (*params, entry_id)
            )
        return cursor.rowcount == 1

    def _update_running(self, entry_id: int, assignments: str, params: tuple[object, ...]) -> None:
        if not self._update(entry_id, assignments, params, "outcome = 'running'"):
            raise AuditError(f"operation {entry_id} is not running: it was settled already or does not exist")


class Operation:
    """An operation being recorded, made by `AuditLog.operation`.

        with audit.operation(host, "gc", connection_lost=(TransportError,)) as op:
            op.command(argv, stdin=password)
            result = await transport.run(argv, timeout=600, input=password)
            op.output(result.stdout + result.stderr)
            op.succeeded("freed 1.2 GiB", exit_status=result.exit_status)

    A block left by an exception without a verdict records "failed" with the
    exception, or "unknown" for one of the `connection_lost` types and for
    cancellation or interruption (the command may have taken effect); a block
    left normally without a verdict records "failed". Exceptions propagate.
    """

    def __init__(self, log: AuditLog, entry_id: int, connection_lost: tuple[type[BaseException], ...]) -> None:
        self.log = log
        self.id = entry_id
        self._connection_lost = connection_lost
        self._tail = OutputTail()
        self._settled = False

    def command(self, argv: Sequence[str], *, stdin: str | None = None) -> None:
        """Record a command before running it; `stdin` is never recorded (see AuditLog.add_command)."""
        self.log.add_command(self.id, argv, stdin=stdin)

    def output(self, data: bytes | str) -> None:
        """Add command output to the recorded tail."""
        self._tail.feed(data)

    def succeeded(self, detail: str | None = None, *, exit_status: int | None = 0) -> None:
        self._settle(Outcome.SUCCEEDED, exit_status, detail, "")

    def failed(self, reason: str, *, exit_status: int | None = None, detail: str | None = None) -> None:
        self._settle(Outcome.FAILED, exit_status, detail, reason)

    def refused(self, reason: str, *, detail: str | None = None) -> None:
        self._settle(Outcome.REFUSED, None, detail, reason)

    def unknown(self, reason: str, *, detail: str | None = None) -> None:
        self._settle(Outcome.UNKNOWN, None, detail, reason)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._settled:
            return
        if exc is None:
            self.failed("the operation ended without a verdict")
            return
        description = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, self._connection_lost) or not isinstance(exc, Exception):
            self.unknown(description)
        else:
            self.failed(description)

    def _settle(self, outcome: Outcome, exit_status: int | None, detail: str | None, reason: str) -> None:
        self.log.finish(
            self.id, outcome=outcome, exit_status=exit_status, output_tail=self._tail, detail=detail, reason=reason
        )
        self._settled = True


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created here rather than by SQLite so that it is private from its first
    # byte; SQLite gives the -wal and -shm files the same mode.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        # Checked before anything is written, so a newer database is left as it is.
        if _schema_version(db, path) < SCHEMA_VERSION:
            _migrate(db, path)
        db.execute("PRAGMA journal_mode = WAL")
        # A record must survive a power cut right after a rollback command.
        db.execute("PRAGMA synchronous = FULL")
    except BaseException:
        db.close()
        raise
    return db


def _schema_version(db: sqlite3.Connection, path: Path) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise AuditSchemaError(
            f"the audit log {path} has schema version {version}, written by a newer nixdeck;"
            f" this one knows versions up to {SCHEMA_VERSION}: upgrade nixdeck, or move the file away"
        )
    return version


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated meanwhile.
        for step in MIGRATIONS[_schema_version(db, path) :]:
            for statement in step:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _entry(row: Sequence[object]) -> AuditEntry:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["commands"] = tuple(tuple(argv) for argv in json.loads(str(values["commands"])))
    values["outcome"] = Outcome(values["outcome"])
    if values["resolved_outcome"] is not None:
        values["resolved_outcome"] = Outcome(values["resolved_outcome"])
    return AuditEntry(**values)  # type: ignore[arg-type]


def _process_marker(pid: int) -> str | None:
    """What tells the process `pid` apart from any other that had or will
    have this pid: the boot id and its start time in clock ticks since boot.
    None when no live process has it (a zombie is dead). Without /proc (not
    Linux) it is None for every process, so no row is ever taken for
    interrupted."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    # Field 2, the command name, is in parentheses and may hold spaces and ")".
    state, *_, start_time = stat[stat.rindex(")") + 2 :].split()[:20]
    return None if state in ("Z", "X") else f"{boot_id}/{start_time}"


def _local_user() -> str:
    """The OS user running nixdeck, by uid (not $USER, which anyone can set)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without a passwd entry, as in some containers
        return str(os.getuid())


def _clean_line(line: str) -> str:
    line = _ESCAPE_SEQUENCE.sub("", line.removesuffix("\r"))
    return _CONTROL_CHARACTER.sub("", line.rsplit("\r", 1)[-1])


def _size(line: str) -> int:
    """Bytes a kept line takes in the tail, its line break included."""
    return len(line.encode()) + 1
