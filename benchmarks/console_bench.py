"""The live console against its performance targets, measured on the real
`nixdeck` running in a tmux pane (120x40) and read from the screen, the way a
person would use it, with the test fleet as the machines it watches.

1. watch: --hosts test hosts at a 1 s refresh interval, following every
   journal (each host logging --log-rate entries a second): the console's
   CPU as % of one core and its RSS over --seconds after --warmup, and the
   bytes it writes to the terminal a second (needless repaints show up there,
   and they cost on a slow SSH link). `glances -t 1` watching this machine is
   measured the same way as a peer figure when it is installed. Targets:
   under 5 % of one core and 150 MB.
2. flood: one more host, named to sort first, logging --flood-rate (5,000)
   journal entries a second through tests/fleet/flood.py. In its journal
   viewer (`j` on the fleet screen) `p` toggles pause; the time from each key
   press to the status line saying "paused" or "live" again, the console's
   RSS every 10 s of the flood (is it bounded?) and its CPU, and whether the
   live view keeps up. Target: under 100 ms.
3. startup: launch to the first frame, against an empty Textual app launched
   the same way (target: within 1.3x), launch to the first complete fleet
   row with --startup-hosts (10) hosts (target: under 1.5 s) and to every row
   complete, with the default settings; --runs times each, interleaved.

CPU and RSS are those of the program's process and its descendants (psutil).
The screen is polled every 5 ms through a tmux control-mode client, so
polling starts no process. Needs root (the test fleet) and tmux; a private
tmux server, the fleet and the floods are cleaned up on every exit.

    python benchmarks/console_bench.py [--hosts 20] [--seconds 60] [--only watch flood startup]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fleet import HostSpec, TestFleet, TestHost, preflight
from tests.fleet.process import spawn_tied

WIDTH, HEIGHT = 120, 40
# tmux's own terminal type, as inside any tmux; COLORTERM is left unset, as
# over SSH (it is not forwarded by default), so Textual draws in 256 colours.
TERM = "screen-256color"
POLL_S = 0.005
RSS_SAMPLE_S = 0.5
SESSION = "bench"

FLOOD_HOST = "aaa-flood"  # sorts first, so the fleet table's cursor starts on it
PAUSED = re.compile(r"\bpaused\b")
LIVE = re.compile(r"\blive\b")
# Uneven gaps between key presses, so that they do not keep landing at the
# same point of the flood's and the console's batching cycles.
PRESS_GAPS_S = (0.5, 0.65, 0.8, 0.95)
# flood.py's entries: "GET /api/items/N 200 ..." or "/api/items/N took ...".
FLOOD_ENTRY_NUMBER = re.compile(r"/(\d+) (?:200|took) ")

CPU_TARGET_PERCENT = 5.0
RSS_TARGET_MB = 150.0
KEY_LATENCY_TARGET_MS = 100.0
FIRST_FRAME_TARGET_RATIO = 1.3
FIRST_ROW_TARGET_S = 1.5

EMPTY_APP = """
from textual.app import App
from textual.widgets import Static

class EmptyApp(App):
    def compose(self):
        yield Static("an empty Textual app")

EmptyApp().run()
"""


class BenchFailure(Exception):
    """A measurement that could not be made; the message says why."""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- reading the screen ---------------------------------------------------------


def complete_rows(screen: str, generations: Mapping[str, int]) -> int:
    """How many hosts' rows of the fleet table are complete: state "up", a
    CPU % figure and the host's current generation number.

    Reads the table as it is drawn today: a heading line naming the columns
    (Host, State, CPU, ..., Gen) with two or more spaces between them, and one
    line per host. The CPU figure must be under the CPU heading, because other
    columns (memory, disk) show a % before the first CPU figure exists; the
    generation is a word of its own on the row. This is the one place to
    change when the table's layout changes.
    """
    lines = screen.splitlines()
    heading = next((line for line in lines if re.search(r"\bHost\b.*\bCPU\b.*\bGen\b", line)), None)
    if heading is None:
        return 0
    starts = [match.start() for match in re.finditer(r"\S+(?: \S+)*", heading)]
    cpu_from = heading.index("CPU")
    cpu_to = next((start for start in starts if start > cpu_from), len(heading))
    complete = 0
    for host, generation in generations.items():
        row = next((line for line in lines if host in line.split()), None)
        if row is None:
            continue
        words = row.split()
        if "up" in words and str(generation) in words and re.search(r"\d+%", row[cpu_from:cpu_to]):
            complete += 1
    return complete


def fleet_rows_complete(screen: str, generations: Mapping[str, int]) -> bool:
    return complete_rows(screen, generations) == len(generations)


def journal_state(screen: str) -> str | None:
    """What the journal viewer's status line says, "paused" or "live"; None
    when no journal viewer shows. "paused" is looked for first, so that a
    "live" elsewhere on the screen cannot hide a pause."""
    if PAUSED.search(screen):
        return "paused"
    if LIVE.search(screen):
        return "live"
    return None


def newest_flood_entry(screen: str) -> int:
    """The number of the newest flood entry on the screen, -1 if none."""
    return max((int(number) for number in FLOOD_ENTRY_NUMBER.findall(screen)), default=-1)


def showing(state: str) -> Callable[[str], bool]:
    """A condition: the journal viewer's status line says `state`."""
    return lambda screen: journal_state(screen) == state


def drawn(screen: str) -> bool:
    return bool(screen.strip())


def without_blank_lines(screen: str) -> str:
    """A screen for an error message."""
    return "\n".join(line for line in screen.splitlines() if line.strip())


# --- the terminal ---------------------------------------------------------------


class Terminal:
    """A private tmux server with one WIDTHxHEIGHT pane to launch programs in.

    The server runs in the foreground as this process's child (`tmux -D`,
    tied to us with PR_SET_PDEATHSIG), so it, and the program in its pane,
    cannot outlive the benchmark. It is driven through one control-mode client
    that gets no pane output: a screen capture is a line on a pipe, not a new
    tmux process, so the 5 ms polling costs next to nothing and competes little
    with the program measured.
    """

    def __init__(self, work: Path) -> None:
        self._socket = work / "tmux.sock"
        self._server = spawn_tied(["tmux", "-D", "-S", str(self._socket), "-f", "/dev/null"], log=work / "tmux.log")
        self._control: subprocess.Popen[str] | None = None
        self.program: psutil.Process | None = None
        try:
            self._start(work / "tmux.log")
        except BaseException:
            self.close()
            raise

    def _start(self, log: Path) -> None:
        deadline = time.monotonic() + 10
        while not self._socket.exists():
            if self._server.poll() is not None or time.monotonic() > deadline:
                raise BenchFailure(f"tmux did not start: {log.read_text()[-500:]}")
            time.sleep(0.01)
        unset = [name for name in os.environ if name.startswith("NIXDECK_") or name == "COLORTERM"]
        commands = [
            ["set-option", "-g", "default-terminal", TERM],
            # A program that dies leaves its last screen (a traceback) to read.
            ["set-option", "-g", "remain-on-exit", "on"],
            *(["set-environment", "-g", "-u", name] for name in unset),
            ["new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), "exec sleep 86400"],
            # Only once a session exists: tmux 3.3 crashes on it before.
            ["set-option", "-g", "window-size", "manual"],
        ]
        argv = ["tmux", "-S", str(self._socket)]
        for command in commands:
            argv += [*command, ";"]
        subprocess.run(argv[:-1], check=True, capture_output=True, text=True)
        self._control = subprocess.Popen(
            ["tmux", "-S", str(self._socket), "-C", "attach-session", "-t", SESSION, "-f", "no-output"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        size = self.command("display-message", "-p", "-t", SESSION, "#{pane_width}x#{pane_height}")
        if size != [f"{WIDTH}x{HEIGHT}"]:
            raise BenchFailure(f"the tmux pane is {size}, not {WIDTH}x{HEIGHT}")

    def command(self, *argv: str) -> list[str]:
        """Run one tmux command through the control client; its output lines.

        A reply is %begin, the output lines, then %end or %error. A block
        whose %begin flags are not 1 answers a command this client did not
        send on its input (the attach-session it was started with, which tmux
        may answer after our first commands) and is skipped, as are the
        notifications (lines starting with %) between blocks.
        """
        assert self._control is not None and self._control.stdin is not None and self._control.stdout is not None
        if any("\n" in arg for arg in argv):
            raise ValueError("a control-mode command is one line")  # a program's text goes in a file
        self._control.stdin.write(" ".join(shlex.quote(arg) for arg in argv) + "\n")
        self._control.stdin.flush()
        output: list[str] | None = None
        ours = False
        for line in self._control.stdout:
            line = line.rstrip("\n")
            if output is None:
                if line.startswith("%begin "):
                    output, ours = [], line.split()[-1] == "1"
                continue
            if line.startswith(("%end ", "%error ")):
                if not ours:
                    output = None
                elif line.startswith("%error "):
                    raise BenchFailure(f"tmux {argv[0]} failed: {' '.join(output)}")
                else:
                    return output
                continue
            output.append(line)
        raise BenchFailure("the tmux control client ended")

    def screen(self) -> str:
        return "\n".join(self.command("capture-pane", "-p", "-t", SESSION))

    def press(self, key: str) -> None:
        self.command("send-keys", "-t", SESSION, key)

    def launch(self, argv: list[str], *, output_log: Path | None = None) -> psutil.Process:
        """Start `argv` in the pane (killing what ran there), optionally
        copying everything it writes to the terminal into `output_log`."""
        self.stop_program()
        self.command("respawn-pane", "-k", "-t", SESSION, "-c", str(ROOT), "exec " + shlex.join(argv))
        (pid,) = self.command("display-message", "-p", "-t", SESSION, "#{pane_pid}")
        try:
            self.program = psutil.Process(int(pid))
        except psutil.NoSuchProcess:
            screen = without_blank_lines(self.screen())
            raise BenchFailure(f"{shlex.join(argv)} ended at once; its screen:\n{screen}") from None
        # A new pipe replaces the last program's; none given closes it.
        copy = [] if output_log is None else ["cat >> " + shlex.quote(str(output_log))]
        self.command("pipe-pane", "-t", SESSION, *copy)
        return self.program

    def wait_for(self, condition: Callable[[str], bool], *, since: float, timeout: float, what: str) -> float:
        """Capture the screen every POLL_S until `condition` holds; seconds
        from `since` (a perf_counter reading) to the capture that showed it."""
        deadline = since + timeout
        next_liveness_check = 0.0
        while True:
            screen = self.screen()
            now = time.perf_counter()
            if condition(screen):
                return now - since
            if now > next_liveness_check:
                if self.program is not None and exited(self.program):
                    raise BenchFailure(
                        f"the program died while waiting for {what}; its screen:\n{without_blank_lines(screen)}")
                next_liveness_check = now + 0.5
            if now > deadline:
                raise BenchFailure(f"no {what} within {timeout:.0f} s; the screen:\n{without_blank_lines(screen)}")
            time.sleep(POLL_S)

    def stop_program(self) -> None:
        if self.program is None:
            return
        for process in [self.program, *children_of(self.program)]:
            try:
                process.terminate()
            except psutil.NoSuchProcess:
                pass
        deadline = time.monotonic() + 5
        while not exited(self.program) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not exited(self.program):
            self.program.kill()
        self.program = None

    def close(self) -> None:
        """Kill the program, the server and the client by pid, without asking
        tmux (which may be what failed)."""
        if self.program is not None:
            for process in [self.program, *children_of(self.program)]:
                try:
                    process.kill()
                except psutil.NoSuchProcess:
                    pass
        self._server.kill()
        self._server.wait()
        if self._control is not None:
            self._control.kill()
            self._control.wait()


# --- measuring a process ----------------------------------------------------------


def exited(process: psutil.Process) -> bool:
    """Gone, or a zombie: the pane's program is tmux's child, and tmux is
    sometimes seconds late in reaping it."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def children_of(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(process: psutil.Process) -> tuple[float, float]:
    """(user, system) CPU time of the process, the children it has reaped, and
    its live descendants."""
    times = process.cpu_times()
    user, system = times.user + times.children_user, times.system + times.children_system
    for child in children_of(process):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        user += child_times.user
        system += child_times.system
    return user, system


def rss_bytes(process: psutil.Process) -> int:
    total = process.memory_info().rss
    for child in children_of(process):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def peak_rss_bytes(process: psutil.Process) -> int:
    """The process's own high-water mark (VmHWM), which no sampling can miss."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise BenchFailure(f"no VmHWM for process {process.pid}")


def file_size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except FileNotFoundError:
        return 0


@dataclass
class Usage:
    """What a program cost over one measured stretch of time."""

    seconds: float
    cpu_percent: float  # of one core
    system_percent: float  # the part of cpu_percent spent in the kernel
    rss: list[int]  # every RSS_SAMPLE_S, first to last
    rss_peak: int
    terminal_bytes_per_s: float


class RssSampler:
    """Samples a process's RSS every RSS_SAMPLE_S in a thread of its own, so
    that whatever the benchmark does meanwhile (pressing keys) leaves no gap."""

    def __init__(self, process: psutil.Process) -> None:
        self.samples = [rss_bytes(process)]
        self._process = process
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stopping.wait(RSS_SAMPLE_S):
            try:
                self.samples.append(rss_bytes(self._process))
            except psutil.NoSuchProcess:
                return  # measure() says so

    def stop(self) -> list[int]:
        self._stopping.set()
        self._thread.join()
        return self.samples


@contextmanager
def profiled(process: psutil.Process, profile: Path | None) -> Iterator[None]:
    """py-spy recording `process` into `profile` (collapsed stacks, as flamegraph.pl and speedscope read them) while the
    block runs, when a profile is asked for. py-spy's own sampling costs the
    process some CPU, so profiled figures are for finding hot spots, not for
    comparing with the targets."""
    if profile is None:
        yield
        return
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise BenchFailure("--profile needs py-spy (pip install py-spy)")
    recorder = subprocess.Popen([py_spy, "record", "--pid", str(process.pid), "--rate", "200", "--format", "raw",
                                 "--output", str(profile)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        recorder.wait(timeout=60)
        progress(f"profile written to {profile}")


def measure(process: psutil.Process, seconds: float, output_log: Path | None,
            while_measuring: Callable[[], None] | None = None, profile: Path | None = None) -> Usage:
    """CPU, RSS and terminal output of `process` over `seconds`, or over
    `while_measuring()` and at least `seconds`."""
    try:
        cpu_before, bytes_before = cpu_seconds(process), file_size(output_log)
        started = time.perf_counter()
        sampler = RssSampler(process)
        try:
            with profiled(process, profile):
                if while_measuring is not None:
                    while_measuring()
                time.sleep(max(0.0, seconds - (time.perf_counter() - started)))
        finally:
            rss = sampler.stop()
        wall = time.perf_counter() - started
        (user_before, system_before), (user, system) = cpu_before, cpu_seconds(process)
        usage = Usage(
            seconds=wall, cpu_percent=100 * (user + system - user_before - system_before) / wall,
            system_percent=100 * (system - system_before) / wall, rss=rss,
            rss_peak=max(max(rss), peak_rss_bytes(process)),
            terminal_bytes_per_s=(file_size(output_log) - bytes_before) / wall,
        )
    except psutil.NoSuchProcess:
        usage = None
    if usage is None or exited(process):
        raise BenchFailure(f"the program measured (pid {process.pid}) died")
    return usage


# --- the fleet --------------------------------------------------------------------


def profile_path(args: argparse.Namespace, part: str) -> Path | None:
    return None if args.profile is None else args.profile / f"{part}.stacks.txt"


def nixdeck_argv(config: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "console", "--config", str(config), *options]


def write_config(fleet: TestFleet, hosts: list[TestHost], path: Path) -> Path:
    path.write_text(fleet.config_toml(hosts))
    return path


def generations_of(hosts: list[TestHost]) -> dict[str, int]:
    return {host.name: host.current_generation for host in hosts}


def launch_watching(terminal: Terminal, fleet: TestFleet, hosts: list[TestHost], config: Path,
                    output_log: Path) -> psutil.Process:
    """nixdeck watching `hosts` at a 1 s refresh, once every row is complete."""
    process = terminal.launch(nixdeck_argv(write_config(fleet, hosts, config), "--refresh-interval", "1"),
                              output_log=output_log)
    terminal.wait_for(lambda screen: fleet_rows_complete(screen, generations_of(hosts)),
                      since=time.perf_counter(), timeout=60, what=f"complete fleet rows for {len(hosts)} hosts")
    return process


@contextmanager
def journal_trickles(hosts: list[TestHost], rate: float) -> Iterator[None]:
    """Every host logging `rate` entries a second, as a busy machine does, so
    that the console's journal follow has something to show."""
    with ExitStack() as stack:
        if rate > 0:
            for host in hosts:
                stack.enter_context(host.flood(rate))
        yield


# --- 1. watching the fleet ---------------------------------------------------------


@dataclass
class WatchResult:
    hosts: int
    nixdeck: Usage
    glances: Usage | None
    glances_missing: str | None


def bench_watch(terminal: Terminal, fleet: TestFleet, hosts: list[TestHost], args: argparse.Namespace,
                work: Path) -> WatchResult:
    progress(f"watch: nixdeck watching {len(hosts)} hosts at a 1 s refresh")
    output_log = work / "watch-output"
    process = launch_watching(terminal, fleet, hosts, work / "watch.toml", output_log)
    time.sleep(args.warmup)
    progress(f"watch: measuring nixdeck for {args.seconds:.0f} s")
    nixdeck = measure(process, args.seconds, output_log, profile=profile_path(args, "watch"))
    terminal.stop_program()

    glances = shutil.which("glances")
    if glances is None:
        return WatchResult(len(hosts), nixdeck, None, "glances is not installed (apt-get install glances)")
    progress(f"watch: measuring glances -t 1 for {args.seconds:.0f} s")
    glances_log = work / "glances-output"
    process = terminal.launch([glances, "-t", "1", "--disable-check-update"], output_log=glances_log)
    terminal.wait_for(drawn, since=time.perf_counter(), timeout=30, what="a glances screen")
    time.sleep(args.warmup)
    peer = measure(process, args.seconds, glances_log)
    terminal.stop_program()
    return WatchResult(len(hosts), nixdeck, peer, None)


# --- 2. a journal flood --------------------------------------------------------------


@dataclass
class FloodResult:
    rate_asked: float
    rate_achieved: float
    latencies_ms: list[float]
    missed: int
    usage: Usage
    newest_entries_shown_live: list[int]  # the flood's newest entry on screen, at each live moment
    viewer_missing: str | None  # why no key press could be timed


def bench_flood(terminal: Terminal, fleet: TestFleet, flooded: TestHost, others: list[TestHost],
                args: argparse.Namespace, work: Path) -> FloodResult:
    hosts = [flooded, *others]
    progress(f"flood: nixdeck watching {len(hosts)} hosts, {flooded.name} about to log {args.flood_rate:.0f} a second")
    output_log = work / "flood-output"
    process = launch_watching(terminal, fleet, hosts, work / "flood.toml", output_log)
    latencies: list[float] = []
    missed = 0
    newest_shown_live: list[int] = []
    viewer_missing: str | None = None

    def press_pause_keys() -> None:
        nonlocal missed, viewer_missing
        time.sleep(3)  # the stream reaches full flow
        pressed = time.perf_counter()
        terminal.press("j")
        try:
            terminal.wait_for(lambda screen: journal_state(screen) is not None, since=pressed, timeout=10,
                              what="journal viewer status line")
        except BenchFailure as exc:
            # The flood goes on being measured on whatever screen shows.
            viewer_missing = (f"the journal viewer is not there yet: `j` on the fleet screen showed no status "
                              f"line saying \"live\" or \"paused\" ({exc})")
            return
        state = journal_state(terminal.screen())
        for press in range(args.presses):
            time.sleep(PRESS_GAPS_S[press % len(PRESS_GAPS_S)])
            if state == "live":
                newest_shown_live.append(newest_flood_entry(terminal.screen()))
            expected = "live" if state == "paused" else "paused"
            pressed = time.perf_counter()
            terminal.press("p")
            try:
                latencies.append(1000 * terminal.wait_for(showing(expected), since=pressed, timeout=5,
                                                          what=f'"{expected}"'))
            except BenchFailure:
                missed += 1
            state = journal_state(terminal.screen())

    flood = flooded.flood(args.flood_rate)
    try:
        usage = measure(process, args.flood_seconds, output_log, while_measuring=press_pause_keys,
                        profile=profile_path(args, "flood"))
    finally:
        flood.stop()
        terminal.stop_program()
    return FloodResult(args.flood_rate, flood.achieved_rate, latencies, missed, usage, newest_shown_live,
                       viewer_missing)


# --- 3. startup ----------------------------------------------------------------------


@dataclass
class StartupResult:
    hosts: int
    empty_first_frame_s: list[float]
    nixdeck_first_frame_s: list[float]
    nixdeck_first_row_s: list[float]
    nixdeck_complete_s: list[float]


def bench_startup(terminal: Terminal, fleet: TestFleet, hosts: list[TestHost], args: argparse.Namespace,
                  work: Path) -> StartupResult:
    config = write_config(fleet, hosts, work / "startup.toml")
    empty_app = work / "empty_app.py"
    empty_app.write_text(EMPTY_APP)
    result = StartupResult(len(hosts), [], [], [], [])
    for run in range(args.runs):
        progress(f"startup: run {run + 1} of {args.runs}")
        launched = time.perf_counter()
        terminal.launch([sys.executable, str(empty_app)])
        result.empty_first_frame_s.append(
            terminal.wait_for(drawn, since=launched, timeout=30, what="the empty app's first frame"))
        terminal.stop_program()

        launched = time.perf_counter()
        terminal.launch(nixdeck_argv(config))
        result.nixdeck_first_frame_s.append(
            terminal.wait_for(drawn, since=launched, timeout=30, what="nixdeck's first frame"))
        result.nixdeck_first_row_s.append(
            terminal.wait_for(lambda screen: complete_rows(screen, generations_of(hosts)) > 0, since=launched,
                              timeout=30, what="a first complete fleet row"))
        result.nixdeck_complete_s.append(
            terminal.wait_for(lambda screen: fleet_rows_complete(screen, generations_of(hosts)), since=launched,
                              timeout=30, what=f"complete fleet rows for {len(hosts)} hosts"))
        terminal.stop_program()
        time.sleep(0.5)  # the hosts' sshd sessions of this run end
    return result


# --- the report ------------------------------------------------------------------------


def mb(size: float) -> str:
    return f"{size / 1e6:.0f} MB"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def spread(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.3f} s ({min(seconds):.3f}-{max(seconds):.3f})"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def print_watch(result: WatchResult, args: argparse.Namespace) -> None:
    print(f"\n1. Watching {result.hosts} hosts at a 1 s refresh, journal follow on, each host logging "
          f"{args.log_rate:g} entries/s ({result.nixdeck.seconds:.0f} s measured after {args.warmup:.0f} s warm-up)")
    print(f"   {'program':<28} {'CPU % of a core':>15} {'of it kernel':>12} {'RSS median':>11} {'RSS peak':>9} "
          f"{'RSS growth':>11} {'terminal bytes/s':>17}")
    rows = [("nixdeck", result.nixdeck)]
    if result.glances is not None:
        rows.append(("glances -t 1 (this machine)", result.glances))
    for name, usage in rows:
        print(f"   {name:<28} {usage.cpu_percent:>13.1f} % {usage.system_percent:>10.1f} % "
              f"{mb(statistics.median(usage.rss)):>11} "
              f"{mb(usage.rss_peak):>9} {mb(usage.rss[-1] - usage.rss[0]):>11} {usage.terminal_bytes_per_s:>17,.0f}")
    if result.glances_missing:
        print(f"   glances: not measured, {result.glances_missing}")
    usage = result.nixdeck
    print(f"   target: nixdeck under {CPU_TARGET_PERCENT:g} % of a core "
          f"({verdict(usage.cpu_percent < CPU_TARGET_PERCENT)})"
          f" and under {RSS_TARGET_MB:g} MB RSS ({verdict(usage.rss_peak < RSS_TARGET_MB * 1e6)})")


def print_flood(result: FloodResult, args: argparse.Namespace) -> None:
    usage = result.usage
    print(f"\n2. A journal flood on {FLOOD_HOST}: {result.rate_achieved:,.0f} entries/s achieved "
          f"({result.rate_asked:,.0f} asked) for {usage.seconds:.0f} s, beside the {args.hosts} other hosts")
    if result.latencies_ms:
        latencies = result.latencies_ms
        print(f"   key press (p) to changed status line, {len(latencies)} presses: "
              f"median {statistics.median(latencies):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms, "
              f"max {max(latencies):.0f} ms")
    if result.missed:
        print(f"   {result.missed} presses showed no change within 5 s")
    every_10_s = usage.rss[::round(10 / RSS_SAMPLE_S)] + usage.rss[-1:]
    print(f"   nixdeck during the flood: CPU {usage.cpu_percent:.1f} % of a core, "
          f"{usage.terminal_bytes_per_s:,.0f} terminal bytes/s, RSS peak {mb(usage.rss_peak)}")
    print(f"   RSS from the start of the flood, every 10 s, then at the end: "
          f"{', '.join(f'{size / 1e6:.0f}' for size in every_10_s)} MB")
    if result.viewer_missing is None:
        shown = result.newest_entries_shown_live
        followed = len(set(shown)) > 1 and shown[-1] > shown[0]
        print(f"   the live view followed the flood: {'yes' if followed else 'NO'} (newest flood entry on screen "
              f"at each live moment: {', '.join(str(n) for n in shown) or 'none'})")
        worst = max(result.latencies_ms, default=math.inf) if not result.missed else math.inf
        print(f"   target: every key answered within {KEY_LATENCY_TARGET_MS:g} ms "
              f"({verdict(worst < KEY_LATENCY_TARGET_MS)})")


def print_startup(result: StartupResult) -> None:
    ratio = statistics.median(result.nixdeck_first_frame_s) / statistics.median(result.empty_first_frame_s)
    first_row = statistics.median(result.nixdeck_first_row_s)
    print(f"\n3. Startup with the default settings, {len(result.empty_first_frame_s)} runs each: median (min-max)")
    print(f"   {'empty Textual app, first frame':<36} {spread(result.empty_first_frame_s)}")
    print(f"   {'nixdeck, first frame':<36} {spread(result.nixdeck_first_frame_s)}   {ratio:.2f}x the empty app "
          f"(target {FIRST_FRAME_TARGET_RATIO:g}x: {verdict(ratio <= FIRST_FRAME_TARGET_RATIO)})")
    print(f"   {f'nixdeck, first of {result.hosts} rows complete':<36} {spread(result.nixdeck_first_row_s)}   "
          f"(target {FIRST_ROW_TARGET_S:g} s: {verdict(first_row < FIRST_ROW_TARGET_S)})")
    print(f"   {f'nixdeck, all {result.hosts} rows complete':<36} {spread(result.nixdeck_complete_s)}")


# --- main --------------------------------------------------------------------------------


def fleet_specs(count: int) -> list[HostSpec]:
    """Workstations, laptops and servers with 3 to 6 generations."""
    return [
        HostSpec(f"host{n:02d}", generations=3 + n % 4, laptop=n % 3 == 1, server=n % 3 == 2)
        for n in range(count)
    ]


def run(args: argparse.Namespace, work: Path) -> list[str]:
    """Run the parts asked for; the names of those that could not be measured."""
    fleet = TestFleet(work / "fleet")
    terminal: Terminal | None = None
    try:
        host_count = max(args.startup_hosts if part == "startup" else args.hosts for part in args.only)
        progress(f"starting {host_count} test hosts")
        hosts = fleet.start(fleet_specs(host_count))
        if "flood" in args.only:
            (flooded,) = fleet.start([HostSpec(FLOOD_HOST, generations=3, server=True)])
        terminal = Terminal(work)
        print(f"nixdeck console benchmark: {psutil.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
              f"at the start; other work on this machine adds noise")

        def flood_part() -> None:
            result = bench_flood(terminal, fleet, flooded, hosts[:args.hosts], args, work)
            print_flood(result, args)
            if result.viewer_missing:
                raise BenchFailure(f"key presses not timed: {result.viewer_missing}")

        parts = {
            "watch": lambda: print_watch(bench_watch(terminal, fleet, hosts[:args.hosts], args, work), args),
            "flood": flood_part,
            "startup": lambda: print_startup(bench_startup(terminal, fleet, hosts[:args.startup_hosts], args, work)),
        }
        failed = []
        with journal_trickles(hosts, args.log_rate):
            for name, part in parts.items():
                if name not in args.only:
                    continue
                try:
                    part()
                except BenchFailure as exc:
                    failed.append(name)
                    print(f"\n{name}: not measured: {exc}")
                    terminal.stop_program()
                sys.stdout.flush()
        return failed
    finally:
        if terminal is not None:
            terminal.close()
        fleet.stop()


def interrupt(signum: int, _frame: object) -> None:
    # SIGTERM and SIGHUP end the run like Ctrl-C does: through the cleanup.
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ("watch", "flood", "startup")
    parser.add_argument("--only", nargs="+", choices=parts, default=list(parts), help="the parts to run")
    parser.add_argument("--hosts", type=int, default=20, help="hosts watched in the watch and flood parts")
    parser.add_argument("--seconds", type=float, default=60, help="measured time of the watch part, per program")
    parser.add_argument("--warmup", type=float, default=10, help="seconds before measuring the watch part")
    parser.add_argument("--log-rate", type=float, default=0.5, help="journal entries a second each host logs (0: none)")
    parser.add_argument("--flood-rate", type=float, default=5000, help="journal entries a second on the flooded host")
    parser.add_argument("--flood-seconds", type=float, default=60, help="how long the flood lasts (at least)")
    parser.add_argument("--presses", type=int, default=20, help="pause/resume key presses timed during the flood")
    parser.add_argument("--runs", type=int, default=5, help="launches of each program in the startup part")
    parser.add_argument("--startup-hosts", type=int, default=10, help="hosts in the startup part")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record nixdeck with py-spy during the watch and flood parts, into DIR")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    problem = preflight() or (None if shutil.which("tmux") else "tmux is not installed")
    if problem:
        raise SystemExit(f"console_bench: {problem}")
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    try:
        with tempfile.TemporaryDirectory(prefix="nixdeck-bench-") as work:
            failed = run(args, Path(work))
    except BenchFailure as exc:
        raise SystemExit(f"console_bench: {exc}") from None
    except KeyboardInterrupt:
        raise SystemExit("console_bench: interrupted; everything it started is stopped") from None
    if failed:
        raise SystemExit(f"console_bench: not measured: {', '.join(failed)}")


if __name__ == "__main__":
    main()
