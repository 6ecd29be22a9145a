#!/usr/bin/env bash
# Multi-arch bench: one real Debian source (GNU hello unless told) built one-shot with
# `archive build --arch A` for amd64, natively, and for i386, arm64 and armhf, under qemu here
# (i386 natively where the kernel runs it): per architecture the time with the build-dependencies
# installed first (cold) and from the cache (warm, the build itself), and the emulation factor:
# each architecture's warm time against amd64's, the peer, measured in the same run. It is what
# builds.emulation_factor (default 6) scales time limits by.
#
# Prints the table on stdout and progress on stderr. The first run also makes each
# architecture's base and build environment (minutes under qemu; not counted). Re-runnable; it
# removes its work folder and its containers. Destructive for the shared cache: `archive cache
# prune --keep 0` removes every archive/deps image before each cold build.
#
#   bash bench/multiarch.sh
#   BENCH_ARCHES="amd64 arm64" BENCH_SOURCES="sl hello" bash bench/multiarch.sh
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
. bench/lib.sh

ARCHES=${BENCH_ARCHES:-"amd64 i386 arm64 armhf"}
CANDIDATES=${BENCH_SOURCES:-"hello lzip sl"}
export ARCHIVE_RUN_ID="bench-multiarch-$$"
LABEL="archive-in-a-box.run-id=$ARCHIVE_RUN_ID"
work=$(mktemp -d /tmp/aib-bench-multiarch-XXXX)
root="$work/root"
mkdir -p "$work/logs" "$work/out"
cleanup() {
  remove_leftovers "$LABEL"
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1 || [ ! -f dist/cli/main.js ]; then
  say "setting up the project (scripts/setup.sh)"
  ARCHIVE_ARCHITECTURES="$ARCHES" bash scripts/setup.sh >&2
fi
archive() { node bin/archive.js --root "$root" "$@"; }
first=${ARCHES%% *}
[ "$first" = amd64 ] || die "BENCH_ARCHES must start with amd64, the peer"

image=archive/buildenv:trixie-amd64
if ! docker image inspect "$image" >/dev/null 2>&1; then
  say "making $image (a one-shot build of examples/aib-hello)"
  cp -r examples/aib-hello "$work/aib-hello"
  archive build "$work/aib-hello" --out "$work/out" --json >"$work/logs/warmup.log" 2>&1 || { tail_log "$work/logs/warmup.log"; die "making $image"; }
fi
say "fetching a source (first of: $CANDIDATES)"
src=$(fetch_source "$work/src" "$image" "$LABEL" $CANDIDATES 2>"$work/logs/sources.log") || { tail_log "$work/logs/sources.log"; die "fetching a source"; }
dsc=$(cd "$work/src/$src" && ls ./*.dsc | head -n1)
dsc="$work/src/$src/${dsc#./}"
say "source: $(basename "$dsc")"

# build ARCH RUN: one archive build --json; prints its seconds and whether it was emulated.
build() {
  local arch=$1 run=$2 log="$work/logs/$1-$2.json"
  archive build "$dsc" --arch "$arch" --out "$work/out" --json >"$log" 2>"$work/logs/$1-$2.err" || {
    tail_log "$work/logs/$1-$2.err"; tail_log "$log"; die "building $src on $arch ($run)"; }
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.seconds} ${r.emulated}`)' "$log"
}

declare -A cold warm how
for arch in $ARCHES; do
  say "== $arch: environment (when new), then cold and warm builds"
  # The first build of an architecture makes its base and build environment: not counted.
  docker image inspect "archive/buildenv:trixie-$arch" >/dev/null 2>&1 || build "$arch" setup >/dev/null
  archive cache prune --keep 0 >/dev/null 2>&1 || true # cold: no cached build-dependencies
  read -r cold[$arch] emulated < <(build "$arch" cold)
  read -r warm[$arch] _ < <(build "$arch" warm)
  how[$arch]=$([ "$emulated" = true ] && echo emulated || echo native)
  say "$arch (${how[$arch]}): cold ${cold[$arch]} s, warm ${warm[$arch]} s"
done

printf '\nmulti-arch bench: %s, one-shot archive build per architecture (load before: %s)\n\n' "$(basename "$dsc")" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-9s %9s %9s %18s\n' arch how cold_s warm_s "warm vs amd64"
for arch in $ARCHES; do
  printf '%-8s %-9s %9s %9s %17sx\n' "$arch" "${how[$arch]}" "${cold[$arch]}" "${warm[$arch]}" "$(ratio "${warm[$arch]}" "${warm[amd64]}")"
done
