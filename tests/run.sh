#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing (Debian
# packages for the real test fleet, the Python test dependencies), then runs
# the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# command or file -> the Debian package that provides it
declare -A providers=(
  [/usr/sbin/sshd]=openssh-server
  [/usr/bin/ssh-keygen]=openssh-client
  [/usr/bin/nix-store]=nix-bin
  [/lib/systemd/systemd-journal-remote]=systemd-journal-remote
  [/usr/bin/journalctl]=systemd
  [/usr/bin/unshare]=util-linux
  [/usr/bin/nsenter]=util-linux
  [/usr/bin/restic]=restic
  [/usr/bin/tmux]=tmux
  [/bin/busybox]=busybox
  [/usr/bin/sudo]=sudo
  [/usr/bin/openssl]=openssl
)
missing=()
for path in "${!providers[@]}"; do
  [ -e "$path" ] || missing+=("${providers[$path]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tests/run.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
exec python3 -m pytest "$@"
