"""The journal flood helper (tests/fleet/flood.py): what it writes reaches
journalctl inside the host while the writer is still running."""

from __future__ import annotations

import subprocess
import threading
import time

from tests.fleet import HostSpec

TOTAL = 2000


def test_a_flood_reaches_journalctl_while_the_writer_runs(fleet_factory):
    fleet = fleet_factory([HostSpec("flooded")])
    host = fleet.host("flooded")
    # --no-tail: every flood entry, however early journalctl starts following.
    argv = [
        "ssh", "-F", str(fleet.ssh_config), "-i", str(fleet.client_key), "-o", "BatchMode=yes",
        "-o", f"UserKnownHostsFile={fleet.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-p", str(host.port), "root@127.0.0.1", "journalctl -f --no-tail -t flood -o cat --no-pager",
    ]
    followed: list[str] = []

    def follow(stream) -> None:
        for line in stream:
            followed.append(line.rstrip("\n"))

    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as follower:
        threading.Thread(target=follow, args=(follower.stdout,), daemon=True).start()
        flood = host.flood(1000, total=TOTAL)
        try:
            assert flood.wait(timeout=60), "the flood did not write its entries"
            # journal-remote is still running with the file open: what it
            # wrote must be readable now, not once it exits.
            listed = host.run(["journalctl", "-t", "flood", "-o", "cat", "--no-pager"]).stdout.splitlines()
            deadline = time.monotonic() + 30
            while len(followed) < TOTAL and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            flood.stop()
            follower.kill()

    assert flood.written == TOTAL
    assert len(listed) == TOTAL
    assert followed == listed
    assert len(set(listed)) == TOTAL  # each entry is its own request
    warnings = host.run(["journalctl", "-t", "flood", "-p", "warning", "-o", "cat", "--no-pager"]).stdout
    assert len(warnings.splitlines()) == TOTAL // 50
    host.log("after the flood")  # the journal lock is free again
    assert host.run(["journalctl", "-n", "1", "-o", "cat", "--no-pager"]).stdout == "after the flood\n"
