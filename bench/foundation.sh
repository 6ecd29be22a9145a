#!/usr/bin/env bash
# Prints: `archive up` cold (no archive images at all: debootstrap + every image build) and
# warm (all images present, containers recreated), and dput-to-installable time for a small
# package (dput -> published -> apt-get install done in a clean container), with the upload's
# two latencies: from dput's end to its first build container starting, and from its last build
# container's end to the publication that holds it. Then what the archive costs idle: the CPU
# the whole machine used in IDLE_S (60) seconds with it up and nothing to do, against the same
# with it down (the machine's own).
# Destructive for the image cache: it removes the archive/* images first (running
# containers keep theirs); `--warm` keeps them and skips the cold start.
# Run on a quiet machine: bash bench/foundation.sh [--warm]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
. bench/lib.sh
bash scripts/setup.sh >/dev/null
archive() { node "$repo/bin/archive.js" --root "$root" "$@"; }
port=$(free_port)
root=$(mktemp -d /tmp/aib-bench-XXXX)
work=$(mktemp -d)
export ARCHIVE_RUN_ID="bench-$$"
cleanup() { archive down >/dev/null 2>&1 || true; rm -rf "$root" "$work"; }
trap cleanup EXIT

cold="skipped (--warm)"
if [ "${1:-}" != --warm ]; then
  echo "== removing archive/* images for a cold start"
  docker images --format '{{.Repository}}:{{.Tag}}' | grep '^archive/' | xargs -r docker rmi -f >/dev/null || true
  t0=$(now); archive up --port "$port" >/dev/null 2>"$work/up-cold.log"; t1=$(now)
  cold="$(secs "$t0" "$t1") s"
  archive down >/dev/null 2>&1
else
  archive up --port "$port" >/dev/null 2>"$work/up-cold.log"
  archive down >/dev/null 2>&1
fi
t0=$(now); archive up --port "$port" >/dev/null 2>"$work/up-warm.log"; t1=$(now)
warm=$(secs "$t0" "$t1")

echo "== dput to installable"
mkdir -p "$work/src/aib-hello-1.0"
cp -r examples/aib-hello/. "$work/src/aib-hello-1.0/"
tar -C "$work/src" -czf "$work/src/aib-hello_1.0.orig.tar.gz" --exclude=debian aib-hello-1.0
printf 'aib-hello (1.0-1) unstable; urgency=medium\n\n  * Bench.\n\n -- bench <bench@example.org>  %s\n' "$(date -R)" > "$work/src/aib-hello-1.0/debian/changelog"
(cd "$work/src/aib-hello-1.0" && dpkg-buildpackage -S -us -uc -d -nc >/dev/null 2>&1)
archive dput-config > "$work/dput.cf"
archive source-line > "$work/archive.sources"
t0=$(now)
dput -c "$work/dput.cf" archive "$work/src/aib-hello_1.0-1_source.changes" >/dev/null
dput_end=$(now)
archive wait aib-hello 1.0-1 --timeout 1800 2>/dev/null
t1=$(now)
# The build containers' starts and ends (Docker's events) until the upload turned published (the
# QA checks and the rebuild come after), and when it did.
events=$(docker events --since "$t0" --until "$t1" --filter type=container --filter label=archive-in-a-box.build \
  --format '{{.Action}} {{.TimeNano}}')
first_start=$(awk '$1 == "start" { printf "%.3f", $2 / 1e9; exit }' <<<"$events")
last_end=$(awk '$1 == "die" { t = $2 } END { printf "%.3f", t / 1e9 }' <<<"$events")
published=$(node -e '
  const fs = require("fs"), dir = process.argv[1];
  const u = fs.readdirSync(dir).map((n) => JSON.parse(fs.readFileSync(`${dir}/${n}`, "utf8"))).find((u) => u.source === "aib-hello" && u.state === "published");
  console.log((Date.parse(u.updatedAt) / 1000).toFixed(3));' "$root/state/uploads")
docker run --rm --network host --label "archive-in-a-box.run-id=$ARCHIVE_RUN_ID" \
  -v "$root/public/archive-key.asc:/etc/apt/keyrings/archive.asc:ro" \
  -v "$work/archive.sources:/etc/apt/sources.list.d/archive.sources:ro" \
  archive/base:trixie bash -c 'apt-get update -q >/dev/null && apt-get install -y -q aib-hello >/dev/null && aib-hello' >/dev/null
t2=$(now)

echo "== idle, ${IDLE_S:=60} s up and ${IDLE_S} s down"
# CPU seconds a minute the machine spent (all but idle and iowait), from /proc/stat, over IDLE_S.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
idle_cpu() {
  local a; a=$(busy_ticks); sleep "$IDLE_S"
  awk -v a="$a" -v b="$(busy_ticks)" -v hz="$(getconf CLK_TCK)" -v s="$IDLE_S" 'BEGIN { printf "%.1f", (b - a) / hz * 60 / s }'
}
# First the QA checks and the rebuild the upload started (a new root runs them) end.
for _ in $(seq 1 1800); do
  ! grep -lE '"state": *"(needs-build|building|given-back)"' "$root"/state/jobs/*.json >/dev/null 2>&1 && break
  sleep 1
done
sleep 5
idle_up=$(idle_cpu)
archive down >/dev/null 2>&1
idle_down=$(idle_cpu)

cat <<REPORT

archive-in-a-box foundation bench ($(nproc) cores, $(docker info --format '{{.Driver}}'), $(date -u +%F))
  archive up, cold (debootstrap + 4 image builds):  $cold
  archive up, warm (images present):                 $warm s
  dput -> published (aib-hello, debhelper):          $(secs "$t0" "$t1") s
    dput's end -> first build container started:     $(secs "$dput_end" "$first_start" 2) s
    last build container ended -> published:         $(secs "$last_end" "$published" 2) s
  dput -> installed in a clean container:            $(secs "$t0" "$t2") s
  idle, CPU s a minute (whole machine): archive up   $idle_up, archive down $idle_down
REPORT
