"""The generations engine: listing, closure sizes, store usage, the cleanup plan,
the freed-space estimate and the closure diff. Parsers and the plan are tested
on literal text; everything else against the test fleet's real Nix 2.8."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.cleanup import (
    DAY,
    CleanupPlan,
    CleanupPolicy,
    FreedEstimate,
    GcRoot,
    estimate_freed,
    parse_freed,
    parse_gc_roots,
    plan_cleanup,
)
from console.closures import (
    PackageChange,
    StoreName,
    closure_diff,
    diff_packages,
    parse_closures,
    parse_store_name,
)
from console.errors import ParseError
from console.generations import (
    LIST_SCRIPT,
    PROFILE,
    SIZES_SCRIPT,
    USAGE_SCRIPT,
    StoreQueryError,
    SystemGeneration,
    list_generations,
    parse_closure_sizes,
    parse_generations,
    parse_store_usage,
    store_usage,
)
from console.model import CommandResult
from console.ssh import SshTransport
from console.transport import LineStream, Transport
from tests.fleet import HostSpec, TestFleet, TestHost
from tests.properties import PARSER_PROPERTIES, only_parse_errors
from tests.test_engine import fleet_settings


def store(name: str, hash_char: str = "a") -> str:
    return f"/nix/store/{hash_char * 32}-{name}"


SYSTEM_1 = store("nixos-system-web1-24.05.20240601.aaaaaaa", "1")
SYSTEM_2 = store("nixos-system-web1-24.05.20240610.bbbbbbb", "2")
SYSTEM_3 = store("nixos-system-web1-24.05.20240619.ccccccc", "3")

LISTING = f"""\
profile system-3-link
running {SYSTEM_3}
booted {SYSTEM_2}
link system-1-link {SYSTEM_1}
created system-1-link 1717200000
version system-1-link 24.05.20240601.aaaaaaa
kernel system-1-link 6.6.30
link system-2-link {SYSTEM_2}
created system-2-link 1718000000
version system-2-link 24.05.20240610.bbbbbbb
kernel system-2-link 6.6.32
link system-3-link {SYSTEM_3}
created system-3-link 1718800000
version system-3-link 24.05.20240619.ccccccc
kernel system-3-link 6.6.32
end
"""


def gen(
    number: int, *, days_old: float = 0.0, current: bool = False, running: bool = False, booted: bool = False,
    created: float | None = None,
) -> SystemGeneration:
    return SystemGeneration(
        number, store(f"nixos-system-h-{number}", "b"), created if created is not None else NOW - days_old * DAY,
        current=current, running=running, booted=booted,
    )


NOW = 1_800_000_000.0


# --- the listing parsed -----------------------------------------------------------------------


def test_parse_generations_reads_every_field_and_the_three_roles() -> None:
    generations = parse_generations(LISTING)
    assert [g.number for g in generations] == [1, 2, 3]
    first, second, third = generations
    assert first == SystemGeneration(1, SYSTEM_1, 1717200000.0, "24.05.20240601.aaaaaaa", "6.6.30")
    assert (second.current, second.running, second.booted) == (False, False, True)
    assert (third.current, third.running, third.booted) == (True, True, False)
    assert third.link == f"{PROFILE}-3-link"


def test_parse_generations_keeps_what_it_can_read() -> None:
    damaged = LISTING.replace("version system-2-link 24.05.20240610.bbbbbbb", "version system-2-link \x00\ufffd\x7f") \
        .replace("created system-1-link 1717200000", "created system-1-link ") \
        .replace("kernel system-3-link 6.6.32\n", "") \
        .replace("end\n", "link system-x-link /nix/store/zz\nlink system-9-link not-a-store-path\n\x01garbage\nend\n")
    generations = parse_generations(damaged)
    assert [g.number for g in generations] == [1, 2, 3]
    assert generations[0].created is None and generations[0].nixos_version == "24.05.20240601.aaaaaaa"
    assert generations[1].nixos_version is None
    assert generations[2].kernel_version is None and generations[2].current


def test_generations_sharing_a_store_path_are_all_running() -> None:
    listing = LISTING.replace(f"link system-2-link {SYSTEM_2}", f"link system-2-link {SYSTEM_3}")
    assert [g.number for g in parse_generations(listing) if g.running] == [2, 3]


def test_a_host_without_generations_or_run_links() -> None:
    assert parse_generations("profile \nrunning \nbooted \nend\n") == []
    listing = LISTING.replace(f"running {SYSTEM_3}", "running ").replace("profile system-3-link", "profile ")
    assert not any(g.current or g.running for g in parse_generations(listing))


def test_a_cut_report_is_refused() -> None:
    with pytest.raises(ParseError, match="cut short"):
        parse_generations(LISTING.removesuffix("end\n"))


def test_parse_closure_sizes_leaves_out_unknown_ones() -> None:
    assert parse_closure_sizes("size 1 11728 9\nsize 2 ?\nsize 3 x 1\nsize 4 ²3 1\nsize 5 10944 8\nend\n") == {
        1: 11728, 5: 10944,
    }


def test_parse_store_usage() -> None:
    usage = parse_store_usage(
        "generations 6\nsystem 51112 25\ndisk /dev/vda 264212084 23942224  82448688      10% /nix\nend\n"
    )
    assert (usage.generations, usage.system_bytes, usage.system_paths) == (6, 51112, 25)
    assert (usage.disk_total, usage.disk_used, usage.disk_available) == (
        264212084 * 1024, 23942224 * 1024, 82448688 * 1024,
    )
    unknown = parse_store_usage("generations 0\ndisk Filesystem 1024-blocks Used\nend\n")
    assert (unknown.system_bytes, unknown.disk_total) == (None, None)
    assert parse_store_usage("generations 2\nsystem ?\nend\n").system_paths is None


# --- the cleanup plan -------------------------------------------------------------------------


def kept(plan: CleanupPlan) -> dict[int, tuple[str, ...]]:
    return {k.generation.number: k.reasons for k in plan.keep}


def test_plan_keeps_the_last_n_and_the_current_one() -> None:
    generations = [gen(n, days_old=10 - n) for n in range(1, 7)]
    generations[5] = gen(6, current=True, running=True, booted=True)
    plan = plan_cleanup(generations, CleanupPolicy(keep_last=2), NOW)
    assert kept(plan) == {5: ("last 2",), 6: ("current", "booted", "running", "last 2")}
    assert [g.number for g in plan.delete] == [1, 2, 3, 4]


def test_plan_always_keeps_current_booted_and_running_even_when_old() -> None:
    generations = [
        gen(1, days_old=90, booted=True), gen(2, days_old=60), gen(3, days_old=30, current=True),
        gen(4, days_old=20, running=True), gen(5, days_old=10), gen(6, days_old=1),
    ]
    plan = plan_cleanup(generations, CleanupPolicy(keep_last=1), NOW)
    assert kept(plan) == {1: ("booted",), 3: ("current",), 4: ("running",), 6: ("last 1",)}
    assert [g.number for g in plan.delete] == [2, 5]


def test_plan_with_keep_last_beyond_the_count_deletes_nothing() -> None:
    generations = [gen(n, current=n == 3) for n in (1, 2, 3)]
    plan = plan_cleanup(reversed(generations), CleanupPolicy(keep_last=10), NOW)
    assert [k.generation.number for k in plan.keep] == [1, 2, 3] and plan.delete == ()
    assert plan_cleanup([], CleanupPolicy(keep_last=1), NOW).keep == ()


def test_plan_counts_the_highest_numbers_not_the_newest_dates() -> None:
    generations = [gen(1, days_old=0), gen(2, days_old=50), gen(3, days_old=40, current=True)]
    plan = plan_cleanup(generations, CleanupPolicy(keep_last=2), NOW)
    assert list(kept(plan)) == [2, 3] and [g.number for g in plan.delete] == [1]


def test_plan_keeps_what_is_newer_than_the_days() -> None:
    generations = [
        gen(1, days_old=45), gen(2, days_old=30.5), gen(3, days_old=29.9), gen(4, days_old=2),
        gen(5, created=None), gen(6, days_old=0, current=True),
    ]
    generations[4] = SystemGeneration(5, store("nixos-system-h-5", "b"))
    plan = plan_cleanup(generations, CleanupPolicy(keep_last=1, keep_newer_than_days=30), NOW)
    assert kept(plan) == {
        3: ("newer than 30 days",), 4: ("newer than 30 days",), 5: ("age unknown",),
        6: ("current", "last 1", "newer than 30 days"),
    }
    assert [g.number for g in plan.delete] == [1, 2]
    fractional = plan_cleanup(generations, CleanupPolicy(keep_last=1, keep_newer_than_days=2.5), NOW)
    assert kept(fractional)[4] == ("newer than 2.5 days",)


@pytest.mark.parametrize("policy", [
    {"keep_last": 0}, {"keep_last": -1}, {"keep_last": 1.5}, {"keep_last": True}, {"keep_last": "2"},
    {"keep_last": 1, "keep_newer_than_days": -1}, {"keep_last": 1, "keep_newer_than_days": float("nan")},
    {"keep_last": 1, "keep_newer_than_days": float("inf")}, {"keep_last": 1, "keep_newer_than_days": "30d"},
])
def test_a_bad_policy_is_refused(policy: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CleanupPolicy(**policy)  # type: ignore[arg-type]


# --- GC roots and the freed-space report parsed -----------------------------------------------

ROOTS = f"""\
finding garbage collector roots...
/nix/var/nix/profiles/system-1-link -> {SYSTEM_1}
/proc/37/environ -> {store("htop-3.3.0")}
{{censored}} -> {store("hello-2.12.1")}
{{memory:12}} -> {store("openssl-3.0.13")}
/home/me/odd -> name -> {store("nano-7.2")}
/run/current-system -> {SYSTEM_3}
/home/me/result -> /not/a/store/path
no arrow here
"""


def test_parse_gc_roots_reads_every_form() -> None:
    assert parse_gc_roots(ROOTS) == [
        GcRoot("/nix/var/nix/profiles/system-1-link", SYSTEM_1),
        GcRoot("/proc/37/environ", store("htop-3.3.0")),
        GcRoot("{censored}", store("hello-2.12.1")),
        GcRoot("{memory:12}", store("openssl-3.0.13")),
        GcRoot("/home/me/odd -> name", store("nano-7.2")),
        GcRoot("/run/current-system", SYSTEM_3),
    ]


def test_parse_freed() -> None:
    estimate = parse_freed(
        f"freed 536 {store('nano-7.2')}\nfreed 6792 {SYSTEM_1}\nunsized {store('partial-1.0', '0')}\nend\n"
    )
    assert estimate == FreedEstimate(
        bytes=7328, paths=tuple(sorted([store("nano-7.2"), SYSTEM_1, store("partial-1.0", "0")])),
        unsized=(store("partial-1.0", "0"),),
    )
    assert estimate.path_count == 3
    assert parse_freed("end\n") == FreedEstimate(0, ())


@pytest.mark.parametrize("report", [
    f"freed 536 {SYSTEM_1}\n", f"freed x {SYSTEM_1}\nend\n", "freed 5 junk\nend\n", "unsized /nix/store/junk\nend\n",
])
def test_a_bad_freed_report_is_refused(report: str) -> None:
    with pytest.raises(ParseError):
        parse_freed(report)


# --- store names and the package diff ---------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("firefox-121.0", StoreName("firefox", "121.0")),
    ("linux-6.6.30-modules", StoreName("linux", "6.6.30")),
    ("initrd-linux-6.6.30", StoreName("initrd-linux", "6.6.30")),
    ("openssl-3.0.13-dev", StoreName("openssl", "3.0.13")),
    ("python3.11-requests-2.31.0", StoreName("python3.11-requests", "2.31.0")),
    ("foo-1.0-rc1", StoreName("foo", "1.0-rc1")),
    ("0ad-0.0.26", StoreName("0ad", "0.0.26")),
    ("etc", StoreName("etc", "")),
    ("unit-nginx.service", StoreName("unit-nginx.service", "")),
])
def test_parse_store_name(name: str, expected: StoreName) -> None:
    assert parse_store_name(store(name)) == expected


@pytest.mark.parametrize("path", ["", "/nix/store/short-x", "nix/store/" + "a" * 32 + "-x", store("x", "e"), "/" * 40])
def test_what_is_not_a_store_path_has_no_name(path: str) -> None:
    assert parse_store_name(path) is None


def test_diff_packages_reports_changes_and_skips_noise() -> None:
    before = [
        SYSTEM_1, store("firefox-120.0"), store("nano-7.2"), store("linux-6.6.9"), store("linux-6.6.9-modules"),
        store("hello-2.12.1", "c"), store("etc"), store("python3-3.11.9"), store("python3-3.12.3"),
        store("firefox-120.0.drv"),
    ]
    after = [
        SYSTEM_2, store("firefox-121.0"), store("htop-3.3.0"), store("linux-6.6.10"), store("linux-6.6.10-modules"),
        store("hello-2.12.1", "d"), store("etc", "f"), store("python3-3.12.4"), " " + store("mc-4.8"),
        "garbage", "",
    ]
    changes = diff_packages(before, after)
    assert changes.changed == (
        PackageChange("firefox", ("120.0",), ("121.0",)),
        PackageChange("linux", ("6.6.9",), ("6.6.10",)),
        PackageChange("python3", ("3.11.9", "3.12.3"), ("3.12.4",)),
    )
    assert changes.added == (PackageChange("htop", (), ("3.3.0",)), PackageChange("mc", (), ("4.8",)))
    assert changes.removed == (PackageChange("nano", ("7.2",), ()),)


def test_parse_closures() -> None:
    assert parse_closures(f"before {SYSTEM_1}\nafter {SYSTEM_2}\nafter x\nother\nend\n") == (
        [SYSTEM_1], [SYSTEM_2, "x"],
    )
    with pytest.raises(ParseError):
        parse_closures(f"before {SYSTEM_1}\n")


# --- nothing from a host crashes a parser -----------------------------------------------------

WORDS = st.sampled_from([
    "end", "profile", "running", "booted", "link", "created", "version", "kernel", "size", "system", "disk",
    "generations", "freed", "unsized", "before", "after", "system-1-link", "system-22-link", SYSTEM_1, "->",
    "{censored}", "12", "-3", "?", "²", "٣", "100%", "/", "\x00", "\ufffd", "\n", " ",
])
HOSTILE = st.one_of(st.text(max_size=300), st.lists(WORDS, max_size=80).map(" ".join), st.lists(WORDS).map("".join))
PARSERS = [parse_generations, parse_closure_sizes, parse_store_usage, parse_gc_roots, parse_freed, parse_closures]


@PARSER_PROPERTIES
@given(HOSTILE, st.sampled_from(PARSERS))
def test_parsers_raise_only_parse_error(text: str, parser: Callable[[str], object]) -> None:
    only_parse_errors(lambda: parser(text))


@PARSER_PROPERTIES
@given(st.data())
def test_parse_generations_on_damaged_reports(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(LISTING)))
    end = data.draw(st.integers(start, len(LISTING)))
    damaged = LISTING[:start] + data.draw(HOSTILE) + LISTING[end:]
    only_parse_errors(lambda: parse_generations(damaged))


@PARSER_PROPERTIES
@given(st.lists(st.one_of(st.text(max_size=60), st.sampled_from([SYSTEM_1, store("a-1"), store("a-1.0-dev")]))))
def test_diff_packages_never_raises(paths: list[str]) -> None:
    changes = diff_packages(paths, list(reversed(paths[1:])))
    assert all(change.before != change.after for change in changes.changed)


# --- against the test fleet -------------------------------------------------------------------


@asynccontextmanager
async def connected(fleet: TestFleet, tmp_path: Path, name: str) -> AsyncIterator[SshTransport]:
    settings = fleet_settings(fleet, tmp_path)
    transport = SshTransport(next(h for h in settings.hosts if h.name == name), settings.ssh)
    await transport.connect()
    try:
        yield transport
    finally:
        await transport.close()


def closure(host: TestHost, path: str) -> list[str]:
    return host.run(["nix-store", "-qR", path]).stdout.split()


def nar_sizes(host: TestHost, paths: list[str]) -> int:
    return sum(map(int, host.run(["nix-store", "-q", "--size", *paths]).stdout.split())) if paths else 0


def store_listing(host: TestHost) -> set[str]:
    return {f"/nix/store/{name}" for name in host.run(["ls", "-A", "/nix/store"]).stdout.split("\n") if name} - {
        "/nix/store/.links"
    }


async def test_list_generations_matches_every_host_of_the_fleet(fleet3: TestFleet, tmp_path: Path) -> None:
    for host in fleet3.hosts:
        async with connected(fleet3, tmp_path, host.name) as transport:
            generations = await list_generations(transport, with_sizes=True)
        assert [(g.number, g.store_path, g.created, g.nixos_version, g.kernel_version) for g in generations] == [
            (t.number, t.store_path, t.created, t.nixos_version, t.kernel_version) for t in host.generations
        ], host.name
        assert [g.number for g in generations if g.current] == [host.current_generation]
        assert [g.number for g in generations if g.running] == [host.current_generation]
        assert [g.number for g in generations if g.booted] == [host.booted_generation]
        for generation in generations:
            assert generation.closure_size == nar_sizes(host, closure(host, generation.link)) > 0


class AsNobody(Transport):
    """Commands run inside a test host as the unprivileged user nobody."""

    def __init__(self, host: TestHost) -> None:
        self._host = host

    async def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> CommandResult:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
        done = await asyncio.to_thread(self._host.run, command, check=False, input=input)
        return CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)

    async def connect(self) -> None: ...

    async def stream(self, argv: Sequence[str]) -> LineStream:
        raise NotImplementedError

    async def wait_closed(self) -> str:
        raise NotImplementedError

    async def close(self) -> None: ...


async def test_the_listing_needs_no_privileges_and_the_estimate_does(fleet3: TestFleet) -> None:
    gamma = AsNobody(fleet3.host("gamma"))
    generations = await list_generations(gamma)
    assert [(g.store_path, g.current, g.booted) for g in generations] == [
        (t.store_path, t.number == 6, t.number == 5) for t in fleet3.host("gamma").generations
    ]
    # These hosts have no Nix daemon to answer an unprivileged user.
    with pytest.raises(StoreQueryError, match="not permitted|[Pp]ermission denied"):
        await estimate_freed(gamma, plan_cleanup(generations, CleanupPolicy(keep_last=1), NOW))


@pytest.mark.parametrize("shell", [["dash"], ["bash"], ["busybox", "sh"]])
def test_the_scripts_read_the_same_in_every_shell(fleet3: TestFleet, shell: list[str]) -> None:
    beta = fleet3.host("beta")

    def report(script: str, *args: str, via: list[str]) -> str:
        return beta.run([*via, "-c", script, "nixdeck", *args]).stdout

    numbers = [str(t.number) for t in beta.generations]
    for script, args, parse in (
        (LIST_SCRIPT, [], parse_generations), (SIZES_SCRIPT, numbers, parse_closure_sizes),
        (USAGE_SCRIPT, [], parse_store_usage),
    ):
        assert parse(report(script, *args, via=shell)) == parse(report(script, *args, via=["sh"]))


async def test_store_usage(fleet3: TestFleet, tmp_path: Path) -> None:
    gamma = fleet3.host("gamma")
    async with connected(fleet3, tmp_path, "gamma") as transport:
        usage = await store_usage(transport)
    union = sorted({path for t in gamma.generations for path in closure(gamma, t.store_path)})
    assert (usage.generations, usage.system_paths, usage.system_bytes) == (6, len(union), nar_sizes(gamma, union))
    assert usage.disk_total and usage.disk_used is not None and 0 < usage.disk_available <= usage.disk_total  # type: ignore[operator]


async def test_closure_diff_between_generations(fleet3: TestFleet, tmp_path: Path) -> None:
    gamma = fleet3.host("gamma")
    async with connected(fleet3, tmp_path, "gamma") as transport:
        generations = await list_generations(transport)
        by_number = {g.number: g for g in generations}
        upgrade = await closure_diff(transport, by_number[3], by_number[4])
        nano_gone = await closure_diff(transport, by_number[2], by_number[3])
        newest = await closure_diff(transport, by_number[5], by_number[6])
        with pytest.raises(StoreQueryError, match="not valid|does not exist|No such"):
            await closure_diff(transport, by_number[1], SystemGeneration(9, store("nixos-system-gone-1", "0")))
    assert (upgrade.before.kernel_version, upgrade.after.kernel_version) == ("6.6.32", "6.6.34")
    assert upgrade.after.nixos_version == gamma.generations[3].nixos_version
    assert upgrade.packages.changed == (
        PackageChange("firefox", ("120.0",), ("121.0",)),
        PackageChange("initrd-linux", ("6.6.32",), ("6.6.34",)),
        PackageChange("linux", ("6.6.32",), ("6.6.34",)),
    )
    assert upgrade.packages.added == upgrade.packages.removed == ()
    # 2 -> 3 keeps the kernel: the only change is nano going.
    assert nano_gone.packages.changed == nano_gone.packages.added == ()
    assert nano_gone.packages.removed == (PackageChange("nano", ("7.2",), ()),)
    assert newest.packages.added == (PackageChange("htop", (), ("3.3.0",)),)
    assert [c.name for c in newest.packages.changed] == ["initrd-linux", "linux"]


async def test_the_estimate_is_what_gc_then_deletes(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=6, booted_generation=2)])
    delta = fleet.host("delta")
    # The boot default moves to 5 without activating it: profile, running and booted all differ.
    delta.run(["nix-env", "-p", PROFILE, "--switch-generation", "5"])
    # Already dead: a registered path nothing refers to, an interrupted build's
    # output (a store path Nix never registered) and a stray file.
    delta.run(["sh", "-c", "echo leftover > /root/leftover.txt && nix-store --add /root/leftover.txt"])
    interrupted = store("partial-build-1.0", "0")
    delta.run(["mkdir", interrupted, "/nix/store/stray"])
    async with connected(fleet, tmp_path, "delta") as transport:
        generations = await list_generations(transport)
        plan = plan_cleanup(generations, CleanupPolicy(keep_last=2), NOW)
        assert kept(plan) == {2: ("booted",), 5: ("current", "last 2"), 6: ("running", "last 2")}
        estimate = await estimate_freed(transport, plan)

    assert estimate.unsized == (interrupted,)
    assert estimate.bytes == nar_sizes(delta, [p for p in estimate.paths if p != interrupted]) > 0
    assert any(p.endswith("-leftover.txt") for p in estimate.paths)
    assert {t.store_path for t in delta.generations if t.number in (1, 3, 4)} <= set(estimate.paths)
    assert any(p.endswith("-linux-6.6.30") for p in estimate.paths)  # only generation 1 had this kernel
    # Nix 2.8's --print-dead removed the stray file itself.
    assert "/nix/store/stray" not in estimate.paths and "/nix/store/stray" not in store_listing(delta)

    before = store_listing(delta)
    delta.run(["nix-env", "-p", PROFILE, "--delete-generations", *(str(g.number) for g in plan.delete)])
    delta.run(["nix-store", "--gc"])
    assert before - store_listing(delta) == set(estimate.paths)
