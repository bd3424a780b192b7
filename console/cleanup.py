"""Generation cleanup, before anything is deleted: which generations a policy
keeps and why (pure), and how much the garbage collector would then free.

The estimate needs `nix-store --gc --print-roots` and `--print-dead`, which
read every GC root: run it as root (the transport logs in as root, as on the
test hosts). On a multi-user Nix an unprivileged user is answered by the
daemon, but other users' runtime roots then show as `{censored}`; they are
still counted as kept, so the estimate stays on the safe side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from console.errors import ParseError
from console.generations import (
    STORE_PATH,
    STORE_TIMEOUT,
    SystemGeneration,
    keyed_lines,
    report_lines,
    run_script,
)
from console.transport import Transport

DAY = 86400.0

ROOTS_SCRIPT = """
nix-store --gc --print-roots || exit
echo end
"""

# stdin: the kept roots' store paths, one a line; arguments: the store paths
# of the generations to delete. Exit statuses are checked command by command
# (files, not pipes) so that a failure is never read as an empty list.
# --print-dead also lists store entries Nix never registered: GC removes
# those that look like store paths (an interrupted build's output), which have
# no NAR size and are reported apart; Nix 2.8's --print-dead itself deletes
# the rest (names that are not store path names), so they are left out.
FREED_SCRIPT = r"""
LC_ALL=C; export LC_ALL
fail() { printf 'nixdeck: %s failed\n' "$1" >&2; exit 1; }
tmp=$(mktemp -d) || fail mktemp
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/kept-roots" || fail "reading the kept roots"
xargs -r nix-store -qR < "$tmp/kept-roots" > "$tmp/kept-closure" || fail "nix-store -qR of the kept roots"
: > "$tmp/deleted-closure"
if [ "$#" -gt 0 ]; then
  nix-store -qR "$@" > "$tmp/deleted-closure" || fail "nix-store -qR of the generations to delete"
fi
nix-store --gc --print-dead > "$tmp/dead" || fail "nix-store --gc --print-dead"
sort -u "$tmp/kept-closure" > "$tmp/kept"
sort -u "$tmp/deleted-closure" > "$tmp/deleted"
comm -23 "$tmp/deleted" "$tmp/kept" > "$tmp/orphaned"
sort -u "$tmp/orphaned" "$tmp/dead" > "$tmp/freed"
grep -xE '/.*/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]*' "$tmp/freed" > "$tmp/named"
xargs -r nix-store --check-validity --print-invalid < "$tmp/named" > "$tmp/invalid" \
  || fail "nix-store --check-validity"
sort -u "$tmp/invalid" > "$tmp/invalid-sorted"
comm -23 "$tmp/named" "$tmp/invalid-sorted" > "$tmp/valid"
xargs -r nix-store -q --size < "$tmp/valid" > "$tmp/sizes" || fail "nix-store -q --size"
paste -d ' ' "$tmp/sizes" "$tmp/valid" | sed 's/^/freed /'
sed 's/^/unsized /' "$tmp/invalid-sorted"
echo end
"""


@dataclass(frozen=True, slots=True)
class CleanupPolicy:
    """Keep the `keep_last` highest-numbered generations and, when set, every
    one made less than `keep_newer_than_days` days ago. Raises ValueError."""

    keep_last: int
    keep_newer_than_days: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.keep_last, bool) or not isinstance(self.keep_last, int) or self.keep_last < 1:
            raise ValueError(f"keep_last must be a whole number of at least 1, not {self.keep_last!r}")
        days = self.keep_newer_than_days
        if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)
                                 or not math.isfinite(days) or days < 0):
            raise ValueError(f"keep_newer_than_days must be a number of days >= 0, not {days!r}")


@dataclass(frozen=True, slots=True)
class KeptGeneration:
    """A generation the plan keeps, with every reason that applies: "current"
    (the profile's, the boot default), "booted", "running", "last N",
    "newer than D days", "age unknown" (no date under a days policy)."""

    generation: SystemGeneration
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CleanupPlan:
    """What a policy does to a host's generations, both lists oldest first."""

    keep: tuple[KeptGeneration, ...]
    delete: tuple[SystemGeneration, ...]


@dataclass(frozen=True, slots=True)
class FreedEstimate:
    """What `nix-store --gc` would delete once the plan's generations are gone.

    `paths` are every store path that would go, sorted; `bytes` sums the NAR
    sizes of those Nix knows (NAR sizes overestimate disk use a little: no
    block rounding, no compression, no hard links from `nix-store --optimise`).
    `unsized` are store entries Nix never registered, which GC removes too
    but cannot size; they are also in `paths`.
    """

    bytes: int
    paths: tuple[str, ...]
    unsized: tuple[str, ...] = ()

    @property
    def path_count(self) -> int:
        return len(self.paths)


@dataclass(frozen=True, slots=True)
class GcRoot:
    """One line of `nix-store --gc --print-roots`: `link` is a file, a
    `/proc/PID/...` entry or a placeholder such as `{censored}` or
    `{memory:N}`; `target` is the store path it keeps alive."""

    link: str
    target: str


def _reasons(generation: SystemGeneration, policy: CleanupPolicy, last: set[int], cutoff: float | None) -> list[str]:
    reasons = [name for name, flag in (
        ("current", generation.current), ("booted", generation.booted), ("running", generation.running),
    ) if flag]
    if generation.number in last:
        reasons.append(f"last {policy.keep_last}")
    if cutoff is not None:
        if generation.created is None:
            reasons.append("age unknown")
        elif generation.created > cutoff:
            reasons.append(f"newer than {policy.keep_newer_than_days:g} days")
    return reasons


def plan_cleanup(generations: Iterable[SystemGeneration], policy: CleanupPolicy, now: float) -> CleanupPlan:
    """Split generations into kept and deleted. The profile's, the booted and
    the running generations are always kept, whatever the policy says."""
    ordered = sorted(generations, key=lambda g: g.number)
    last = {g.number for g in ordered[-policy.keep_last:]}
    days = policy.keep_newer_than_days
    cutoff = None if days is None else now - days * DAY
    keep: list[KeptGeneration] = []
    delete: list[SystemGeneration] = []
    for generation in ordered:
        reasons = _reasons(generation, policy, last, cutoff)
        if reasons:
            keep.append(KeptGeneration(generation, tuple(reasons)))
        else:
            delete.append(generation)
    return CleanupPlan(tuple(keep), tuple(delete))


def parse_gc_roots(text: str) -> list[GcRoot]:
    """`LINK -> TARGET` lines. The target is a store path and has no spaces, so
    the line splits at its last arrow (a link name may hold one). Progress
    lines and anything else are skipped."""
    roots = []
    for line in text.splitlines():
        link, arrow, target = line.rpartition(" -> ")
        target = target.strip()
        if arrow and link and STORE_PATH.fullmatch(target):
            roots.append(GcRoot(link, target))
    return roots


def parse_freed(text: str) -> FreedEstimate:
    """Parse FREED_SCRIPT's report. Raises ParseError on a malformed line: an
    estimate that silently dropped paths would mislead."""
    sizes: dict[str, int] = {}
    unsized: set[str] = set()
    for key, rest in keyed_lines(text):
        if key == "freed":
            size, _, path = rest.partition(" ")
            if not (size.isascii() and size.isdigit() and STORE_PATH.fullmatch(path)):
                raise ParseError(f"not a size and a store path: {rest[:120]!r}")
            sizes[path] = int(size)
        elif key == "unsized":
            if not STORE_PATH.fullmatch(rest):
                raise ParseError(f"not a store path: {rest[:120]!r}")
            unsized.add(rest)
    return FreedEstimate(
        bytes=sum(sizes.values()), paths=tuple(sorted(sizes.keys() | unsized)), unsized=tuple(sorted(unsized))
    )


async def estimate_freed(transport: Transport, plan: CleanupPlan, *, timeout: float = STORE_TIMEOUT) -> FreedEstimate:
    """What GC would free after deleting `plan.delete`: the closure of those
    generations minus the closure of every GC root that stays, plus what is
    already dead. Two round trips: the roots, then the rest in one script.

    Not counted: .drv files that `keep-derivations` keeps alive only while
    their outputs live (a few KB each); with `keep-outputs`, outputs of .drv
    roots are counted as freed though GC keeps them. Needs root, see above.
    Not quite read-only: Nix 2.8's `--print-dead` deletes store entries whose
    names are not store path names (stray files GC would remove anyway).
    """
    listed = await run_script(transport, ROOTS_SCRIPT, [], timeout=timeout)
    roots = parse_gc_roots("\n".join(report_lines(listed.stdout)))
    # Nix lists a profile's generations by their own path, however it found
    # them (gcroots/profiles, gcroots/auto/...), so the link names match.
    deleted_links = {g.link for g in plan.delete}
    kept = sorted({r.target for r in roots if r.link not in deleted_links})
    deleted = sorted({r.target for r in roots if r.link in deleted_links})
    result = await run_script(transport, FREED_SCRIPT, deleted, timeout=timeout, input="".join(f"{p}\n" for p in kept))
    return parse_freed(result.stdout)
