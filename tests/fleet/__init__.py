"""nixdeck's test fleet: real OpenSSH servers on 127.0.0.1 that look like
NixOS machines (own hostname, os-release, Nix store with system generations,
journal, sysfs battery, shims for systemd tools). See README.md.

    fleet = TestFleet(tmp_path)
    alpha, beta = fleet.start([HostSpec("alpha"), HostSpec("beta", laptop=True)])
    ...
    fleet.stop()
"""

from .fleet import TestFleet, preflight
from .host import TestHost
from .spec import GenerationTruth, HostSpec

__all__ = ["GenerationTruth", "HostSpec", "TestFleet", "TestHost", "preflight"]
