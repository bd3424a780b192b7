"""A real Nix store for one test host: packages and NixOS system generations.

Each host has its own store directory, bind-mounted on /nix inside the host.
Store paths are written straight into that directory and registered with
`nix-store --register-validity`. Unlike `nix-store --add`, registration lets a
path declare references, which is what makes `nix-store -qR`, `--print-dead`
and the garbage collector behave as on a real NixOS machine. The profile links
are made by `nix-env --set` itself, so `nix-env --list-generations`,
`--switch-generation`, `--delete-generations` and `--rollback` are the real
thing.

Contents are stand-ins (a "kernel" is a short text file), but names, layout
and references follow nixpkgs' `nixos/modules/system/activation/top-level.nix`.
"""

from __future__ import annotations

import datetime as dt
import grp
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .spec import GenerationTruth

NIX_BASE32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
RELEASE = "24.05"
CODENAME = "Uakari"
SYSTEM = "x86_64-linux"
PROFILE = "/nix/var/nix/profiles/system"

# Generation i was built (count - i) * 5 days before the newest, which is a
# few hours old: enough spread for "older than 30d"-style cleanup tests.
GENERATION_SPACING = 5 * 86400
NEWEST_AGE = 3 * 3600


def nix_base32(data: bytes) -> str:
    """Nix's own base-32 (printHash32): its alphabet has no e, o, t, u."""
    length = (len(data) * 8 - 1) // 5 + 1
    chars = []
    for n in range(length - 1, -1, -1):
        i, j = divmod(n * 5, 8)
        c = data[i] >> j
        if i + 1 < len(data):
            c |= data[i + 1] << (8 - j)
        chars.append(NIX_BASE32_ALPHABET[c & 0x1F])
    return "".join(chars)


def store_path(name: str) -> str:
    """A well-formed store path for `name`.

    Real Nix hashes the derivation; the name is all we have, and hashing it
    gives every host the same path for the same package, as a shared binary
    cache would.
    """
    digest = hashlib.sha256(f"nixdeck-testfleet:{name}".encode()).digest()[:20]
    return f"/nix/store/{nix_base32(digest)}-{name}"


@dataclass
class StoreObject:
    """One store path to write: its files, symlinks and references."""

    name: str
    references: list[str] = field(default_factory=list)
    # relative path -> ("file", text) | ("exec", text) | ("link", target) | ("dir", "")
    entries: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return store_path(self.name)

    def file(self, rel: str, text: str, *, executable: bool = False) -> None:
        self.entries[rel] = ("exec" if executable else "file", text)

    def symlink(self, rel: str, target: str) -> None:
        self.entries[rel] = ("link", target)

    def directory(self, rel: str) -> None:
        self.entries[rel] = ("dir", "")

    def write(self, nix_dir: Path) -> None:
        """Create the path under `nix_dir` (the host's /nix) in canonical form:
        read-only, mtime 1, as Nix leaves every store path."""
        top = nix_dir / self.path.removeprefix("/nix/")
        top.mkdir(parents=True)
        for rel, (kind, payload) in self.entries.items():
            target = top / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "link":
                target.symlink_to(payload)
            elif kind == "dir":
                target.mkdir(exist_ok=True)
            else:
                target.write_text(payload)
                target.chmod(0o555 if kind == "exec" else 0o444)
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            for entry in dirnames + filenames:
                os.utime(os.path.join(dirpath, entry), (1, 1), follow_symlinks=False)
            os.chmod(dirpath, 0o555)
            os.utime(dirpath, (1, 1))


@dataclass
class HostStore:
    """Everything one host's store holds, and the truth about its generations."""

    objects: dict[str, StoreObject]  # by name, dependencies before dependents
    generations: list[GenerationTruth]

    def add(self, obj: StoreObject) -> StoreObject:
        return self.objects.setdefault(obj.name, obj)


def os_release(nixos_version: str) -> str:
    """/etc/os-release as NixOS 24.05 writes it (keys sorted, as NixOS does)."""
    return (
        'ANSI_COLOR="1;34"\n'
        'BUG_REPORT_URL="https://github.com/NixOS/nixpkgs/issues"\n'
        f'BUILD_ID="{nixos_version}"\n'
        'DOCUMENTATION_URL="https://nixos.org/learn.html"\n'
        'HOME_URL="https://nixos.org/"\n'
        "ID=nixos\n"
        'IMAGE_ID=""\n'
        'IMAGE_VERSION=""\n'
        'LOGO="nix-snowflake"\n'
        "NAME=NixOS\n"
        f'PRETTY_NAME="NixOS {RELEASE} ({CODENAME})"\n'
        'SUPPORT_END="2024-12-31"\n'
        'SUPPORT_URL="https://nixos.org/community.html"\n'
        f'VERSION="{RELEASE} ({CODENAME})"\n'
        f"VERSION_CODENAME={CODENAME.lower()}\n"
        f'VERSION_ID="{RELEASE}"\n'
    )


def kernel_version(number: int) -> str:
    """The kernel changes every other generation, so that adjacent generations
    sometimes differ (reboot needed) and sometimes do not."""
    return f"6.6.{30 + 2 * (number // 2)}"


def _nixpkgs(number: int) -> tuple[str, str]:
    """(nixos version label, nixpkgs revision) of generation `number`."""
    day = dt.date(2024, 6, 1) + dt.timedelta(days=9 * (number - 1))
    revision = hashlib.sha1(f"nixpkgs-{day}".encode()).hexdigest()
    return f"{RELEASE}.{day:%Y%m%d}.{revision[:7]}", revision


def _applications(number: int, count: int, role: str) -> list[tuple[str, str]]:
    """(pname, version) of the applications in generation `number`: some in
    every generation, an upgrade half-way (firefox), one removed (nano), one
    added in the newest (htop), so closures and diffs have something to show."""
    apps = [("hello", "2.12.1"), ("openssl", "3.0.13")]
    apps.append(("firefox", "120.0" if number <= (count + 1) // 2 else "121.0"))
    if number <= 2:
        apps.append(("nano", "7.2"))
    if number == count:
        apps.append(("htop", "3.3.0"))
    if role == "server":
        apps.append(("nginx", "1.26.0"))
    if role == "laptop":
        apps.append(("power-profiles-daemon", "0.21"))
    return apps


# Applications that link against another one; the dependency's store path is
# written into the wrapper, so the reference is also visible in the content.
_DEPENDS_ON = {"firefox": "openssl", "nginx": "openssl"}


def _application(store: HostStore, pname: str, version: str) -> StoreObject:
    obj = StoreObject(f"{pname}-{version}")
    lines = ["#!/bin/sh"]
    dependency = _DEPENDS_ON.get(pname)
    if dependency is not None:
        dep = next(o for o in store.objects.values() if o.name.startswith(f"{dependency}-"))
        obj.references.append(dep.path)
        lines.append(f"export LD_LIBRARY_PATH={dep.path}/lib")
    lines.append(f'echo "{pname} {version} (nixdeck test-fleet stand-in)"')
    obj.file(f"bin/{pname}", "\n".join(lines) + "\n", executable=True)
    if pname == "openssl":
        obj.file("lib/libssl.so.3", "stand-in shared library\n")
    return store.add(obj)


def _kernel(store: HostStore, version: str) -> tuple[StoreObject, StoreObject, StoreObject]:
    linux = StoreObject(f"linux-{version}")
    linux.file("bzImage", f"Linux {version} kernel image (nixdeck test-fleet stand-in)\n")
    modules = StoreObject(f"linux-{version}-modules")
    modules.file(f"lib/modules/{version}/modules.dep", "")
    modules.file(f"lib/modules/{version}/modules.order", "")
    initrd = StoreObject(f"initrd-linux-{version}")
    initrd.file("initrd", f"initramfs for Linux {version} (nixdeck test-fleet stand-in)\n")
    return store.add(linux), store.add(modules), store.add(initrd)


_SWITCH_TO_CONFIGURATION = """#!/bin/sh
# switch-to-configuration of a nixdeck test-fleet generation: a stand-in for
# NixOS's script. It records every call (epoch, this generation, action) in
# /var/lib/nixdeck-testhost/switch.log and, for switch and test, activates this
# generation as NixOS's activation script would: /etc/os-release and
# /run/current-system are repointed. Units and the bootloader are not simulated.
out={out}
action="$1"
case "$action" in
switch|boot|test|dry-activate) ;;
*)
    cat >&2 <<EOF
Usage: $0 [switch|boot|test|dry-activate]

switch:       make the configuration the boot default and activate now
boot:         make the configuration the boot default
test:         activate the configuration, but don't make it the boot default
dry-activate: show what would be done if this configuration were activated
EOF
    exit 1
    ;;
esac
echo "$(date +%s) $out $action" >> /var/lib/nixdeck-testhost/switch.log
case "$action" in
switch|test)
    echo "activating the configuration..."
    echo "setting up /etc..."
    # Write through the bind-mounted file rather than replacing it.
    cat "$out/etc/os-release" > /etc/os-release
    ln -sfn "$out" /run/current-system
    ;;
dry-activate)
    echo "would activate the configuration..."
    ;;
esac
"""

_NIXOS_VERSION = """#!/bin/sh
case "$1" in
--hash|--revision) echo "{revision}" ;;
--configuration-revision) echo "{configuration_revision}" ;;
--json) echo '{json}' ;;
*) echo "{label} ({codename})" ;;
esac
"""


def _system(
    store: HostStore, hostname: str, number: int, label: str, revision: str,
    kernel: tuple[StoreObject, StoreObject, StoreObject], apps: list[StoreObject],
) -> StoreObject:
    system = StoreObject(f"nixos-system-{hostname}-{label}")
    out = system.path
    linux, modules, initrd = kernel
    configuration_revision = hashlib.sha1(f"{hostname}-configuration-{number}".encode()).hexdigest()
    version_json = json.dumps(
        {"configurationRevision": configuration_revision, "nixosVersion": label, "nixpkgsRevision": revision},
        separators=(",", ":"),
    )
    # top-level.nix writes these with `echo -n`: no trailing newline.
    system.file("nixos-version", label)
    system.file("system", SYSTEM)
    system.file("kernel-params", "loglevel=4")
    system.symlink("kernel", f"{linux.path}/bzImage")
    system.symlink("kernel-modules", modules.path)
    system.symlink("initrd", f"{initrd.path}/initrd")
    system.file("init", f"#!/bin/sh\n# NixOS stage-2 init of {out} (stand-in, never run)\nexit 1\n", executable=True)
    system.file("bin/switch-to-configuration", _SWITCH_TO_CONFIGURATION.format(out=out), executable=True)
    system.file("etc/os-release", os_release(label))
    system.directory("specialisation")
    system.file(
        "sw/bin/nixos-version",
        _NIXOS_VERSION.format(
            revision=revision, configuration_revision=configuration_revision,
            json=version_json, label=label, codename=CODENAME,
        ),
        executable=True,
    )
    for app in apps:
        pname = app.name.rsplit("-", 1)[0]
        system.symlink(f"sw/bin/{pname}", f"{app.path}/bin/{pname}")
    system.references = [out, linux.path, modules.path, initrd.path, *(app.path for app in apps)]
    return store.add(system)


def plan_store(hostname: str, count: int, role: str, now: float) -> HostStore:
    """Decide every store path and generation of a host (no I/O)."""
    store = HostStore(objects={}, generations=[])
    newest_created = int(now) - NEWEST_AGE
    for number in range(1, count + 1):
        label, revision = _nixpkgs(number)
        kver = kernel_version(number)
        kernel = _kernel(store, kver)
        apps = [_application(store, pname, version) for pname, version in _applications(number, count, role)]
        system = _system(store, hostname, number, label, revision, kernel, apps)
        store.generations.append(
            GenerationTruth(
                number=number,
                store_path=system.path,
                created=float(newest_created - (count - number) * GENERATION_SPACING),
                nixos_version=label,
                kernel_version=kver,
                packages=tuple(ref for ref in system.references if ref != system.path),
            )
        )
    return store


def _registration(objects: list[StoreObject]) -> str:
    """stdin for `nix-store --register-validity`: path, deriver (none),
    number of references, the references."""
    lines = []
    for obj in objects:
        lines += [obj.path, "", str(len(obj.references)), *obj.references]
    return "\n".join(lines) + "\n"


def ensure_nix_mount_point() -> None:
    """Create an empty /nix to bind-mount a host's store on. A machine whose
    Nix came from Debian's nix-bin has none (only Nix's own installer makes
    it), and a mount point must exist outside the namespace too."""
    Path("/nix").mkdir(exist_ok=True)


def build_store(nix_dir: Path, home: Path, store: HostStore, current: int) -> None:
    """Write and register every path of `store` in `nix_dir`, then create the
    system profile's generations 1..N (backdated) with `current` selected.

    Nix insists on its store living at /nix/store, so the registration runs in
    a throwaway mount namespace with `nix_dir` bind-mounted on /nix. HOME points
    at the host's own home because nix-env creates ~/.nix-defexpr.
    """
    store_dir = nix_dir / "store"
    store_dir.mkdir(parents=True)
    try:
        os.chown(store_dir, 0, grp.getgrnam("nixbld").gr_gid)
    except KeyError:
        pass  # no build users group: Nix copes, the mode is what matters
    store_dir.chmod(0o1775)
    objects = list(store.objects.values())
    for obj in objects:
        obj.write(nix_dir)

    ensure_nix_mount_point()
    commands = ["mount --bind \"$1\" /nix", "nix-store --register-validity"]
    for gen in store.generations:
        commands.append(f"nix-env -p {PROFILE} --set {gen.store_path} </dev/null")
        commands.append(f"touch -h -d @{int(gen.created)} {PROFILE}-{gen.number}-link")
    if current != len(store.generations):
        commands.append(f"nix-env -p {PROFILE} --switch-generation {current} </dev/null")
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-ec", "\n".join(commands), "sh", str(nix_dir)],
        input=_registration(objects), capture_output=True, text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"building the Nix store in {nix_dir} failed ({result.returncode}):\n"
            f"{result.stderr}\nscript:\n" + "\n".join(commands)
        )

    # NixOS registers the running and booted systems as GC roots; without
    # them `nix-store --gc` would delete a rolled-back host's running system.
    gcroots = nix_dir / "var/nix/gcroots"
    (gcroots / "current-system").symlink_to("/run/current-system")
    (gcroots / "booted-system").symlink_to("/run/booted-system")
