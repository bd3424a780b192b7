"""What a test host should look like (HostSpec) and what it was built with
(GenerationTruth).

Tests compare what nixdeck reports against these values, so they are plain,
immutable data with no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A hostname label: it is also a directory name and part of store path names.
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass
class HostSpec:
    """One test host to build. `name` is also its hostname.

    `server` is an addition to the agreed API: a host is a laptop, a server or
    (neither flag) a workstation. The role picks its tags in the nixdeck
    config, its boot timings (servers have no firmware/loader phase) and a few
    packages.
    """

    name: str
    generations: int = 4
    laptop: bool = False
    known: bool = True
    failed_units: tuple[str, ...] = ()
    current_generation: int | None = None
    booted_generation: int | None = None
    server: bool = False

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"host name {self.name!r} is not a valid lowercase hostname label")
        if not 3 <= self.generations <= 6:
            raise ValueError(f"{self.name}: generations must be 3..6, not {self.generations}")
        if self.laptop and self.server:
            raise ValueError(f"{self.name}: a host cannot be both a laptop and a server")
        for label, number in (("current", self.current_generation), ("booted", self.booted_generation)):
            if number is not None and not 1 <= number <= self.generations:
                raise ValueError(f"{self.name}: {label}_generation {number} is not in 1..{self.generations}")
        self.failed_units = tuple(self.failed_units)

    @property
    def role(self) -> str:
        """"laptop", "server" or "workstation": the host's tag in a nixdeck config."""
        if self.laptop:
            return "laptop"
        if self.server:
            return "server"
        return "workstation"

    @property
    def current(self) -> int:
        """The generation the profile points at and /run/current-system runs."""
        return self.current_generation or self.generations

    @property
    def booted(self) -> int:
        """The generation /run/booted-system points at."""
        return self.booted_generation or self.current


@dataclass(frozen=True)
class GenerationTruth:
    """One system generation as built.

    `created` is the epoch time of its `system-N-link` (what
    `nix-env --list-generations` shows). `packages` are the full store paths the
    generation references directly (kernel, modules, initrd and applications);
    `nix-store -qR store_path` lists them plus their own dependencies.
    """

    number: int
    store_path: str
    created: float
    nixos_version: str
    kernel_version: str
    packages: tuple[str, ...]
