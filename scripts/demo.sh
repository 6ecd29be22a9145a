#!/usr/bin/env bash
# The main job, on a fresh Debian machine: install what is missing, bring the archive up,
# upload the sample package with dput, wait for it to be built and published, then install
# it with apt in a clean container and run it.
#   ARCHIVE_ROOT=DIR  where the archive lives (default: ~/.local/share/archive-in-a-box)
#   ARCHIVE_PORT=N    the port it is served on (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
archive() { node "$repo/bin/archive.js" "$@"; }

say "1/6 set-up: Debian packages, the Docker engine, node modules"
bash scripts/setup.sh

say "2/6 archive up (first time: debootstrap and image builds, a few minutes)"
archive up --port "${ARCHIVE_PORT:-8080}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version="1.0-$(date -u +%Y%m%d.%H%M%S)"
say "3/6 making the sample source package aib-hello $version (dpkg-buildpackage -S)"
cp -r examples/aib-hello "$work/aib-hello-1.0"
tar -C "$work" -czf "$work/aib-hello_1.0.orig.tar.gz" --exclude=debian aib-hello-1.0
cat > "$work/aib-hello-1.0/debian/changelog" <<CHANGELOG
aib-hello ($version) unstable; urgency=medium

  * Demo upload.

 -- archive-in-a-box demo <demo@example.org>  $(date -R)
CHANGELOG
(cd "$work/aib-hello-1.0" && dpkg-buildpackage -S -us -uc -d -nc >/dev/null)
ls "$work"

say "4/6 dput (method = local) into the incoming directory"
archive dput-config > "$work/dput.cf"
cat "$work/dput.cf"
dput -c "$work/dput.cf" archive "$work/aib-hello_${version}_source.changes"

say "5/6 waiting: checked, built in a throwaway container, published and signed"
archive wait aib-hello "$version" --timeout 1800
archive status

say "6/6 apt-get install in a clean Debian container, with the printed source and Signed-By"
root=$(archive status --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0)).root)')
archive source-line > "$work/archive.sources"
cat "$work/archive.sources"
docker run --rm --network host \
  -v "$root/public/archive-key.asc:/etc/apt/keyrings/archive.asc:ro" \
  -v "$work/archive.sources:/etc/apt/sources.list.d/archive.sources:ro" \
  archive/base:trixie bash -c 'apt-get update -q && apt-get install -y -q aib-hello >/dev/null && echo && echo "aib-hello says: $(aib-hello)"'

say "done: the archive keeps running (archive status; archive down to stop it)"
