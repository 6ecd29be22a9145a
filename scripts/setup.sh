#!/usr/bin/env bash
# Installs what archive-in-a-box needs on a Debian machine and starts the Docker engine.
# Idempotent: it only installs what is missing. Used by demo.sh, test.sh and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian's programs: the Docker engine, debootstrap for base images, dput for uploads,
# gpg for the signing key, dpkg-dev for making source packages, xz, iptables for Docker;
# apt-utils (apt-ftparchive), systemd (systemd-analyze) and chromium for the tests that use them.
need=()
for pair in docker:docker.io dockerd:docker.io debootstrap:debootstrap dput:dput gpg:gnupg gpgv:gpgv \
            dpkg-buildpackage:dpkg-dev xz:xz-utils fakeroot:fakeroot apt-ftparchive:apt-utils \
            systemd-analyze:systemd chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  say "installing Debian packages: ${need[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# The Docker engine: start it when it does not answer (systemd where it runs, else by hand).
if ! docker info >/dev/null 2>&1; then
  say "starting the Docker engine"
  if [ -d /run/systemd/system ]; then
    as_root systemctl start docker
  else
    as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "the Docker engine did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
docker info --format 'Docker engine {{.ServerVersion}}, storage driver {{.Driver}}'

# Node dependencies (pure JavaScript; the images copy them from here) and the compiled program.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
say "compiling"
npx tsc -p .

# Other architectures (ARCHIVE_ARCHITECTURES="i386 arm64 armhf"; test.sh asks for those the tests
# build for): qemu-user-static and binfmt-support, then each architecture's handler registered
# (archive binfmt: Debian's handlers, and qemu-i386 by hand where the kernel runs no 32-bit code).
if [ -n "${ARCHIVE_ARCHITECTURES:-}" ]; then
  own="$(dpkg --print-architecture)"
  foreign=()
  for arch in $ARCHIVE_ARCHITECTURES; do [ "$arch" = "$own" ] || foreign+=("$arch"); done
  if [ "${#foreign[@]}" -gt 0 ]; then
    if ! command -v update-binfmts >/dev/null 2>&1 || ! ls /usr/bin/qemu-*-static >/dev/null 2>&1; then
      say "installing qemu-user-static and binfmt-support (for ${foreign[*]})"
      as_root apt-get update -q
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-user-static binfmt-support
    fi
    say "registering the qemu handlers for ${foreign[*]}"
    as_root node dist/cli/main.js binfmt "${foreign[@]}"
  fi
fi
