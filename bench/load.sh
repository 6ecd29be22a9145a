#!/usr/bin/env bash
# Load bench: COUNT small source packages (default 100) dput in one burst into an archive of
# its own, with builds.concurrency 2, until every upload is published, failed or rejected.
# A tenth of them are libraries (a -dev package with a header) that a fifth of the others
# build-depend on, so some builds wait (dep-wait) for a library the same burst brings.
# Packages are made by bench/make-load.mjs with the tests' own maker (test/support/packages.ts).
#
# Prints progress on stderr and the figures on stdout: total time from the first dput to the
# last upload decided, throughput (uploads a minute), build concurrency used (most build
# containers of this archive at once, sampled every second), published / failed / rejected /
# lost (lost: dput but never decided; must be 0), builds given back and dep-waits, and the peak
# memory of each container (the cgroup's own peak: v1 memory.max_usage_in_bytes or v2
# memory.peak, page cache included; else the largest `docker stats` sample).
# No peer: nothing else on this machine takes dput uploads and builds them.
#
#   bash bench/load.sh          # 100 packages
#   bash bench/load.sh 20
#   BENCH_TIMEOUT=7200 bash bench/load.sh 100   # give up after this many seconds (default 10800)
#
# Re-runnable; on exit it stops its archive and removes its root, its containers, its work
# folder and the build-dependency images its builds made.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$PWD
. bench/lib.sh

COUNT=${1:-100}
TIMEOUT=${BENCH_TIMEOUT:-10800}
CONCURRENCY=2
[[ "$COUNT" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bash bench/load.sh [COUNT] (a whole number of packages, default 100)" >&2; exit 2; }

export ARCHIVE_RUN_ID="bench-load-$$"
LABEL="archive-in-a-box.run-id=$ARCHIVE_RUN_ID"

archive() { node "$repo/bin/archive.js" --root "$root" "$@"; }

if ! command -v docker >/dev/null || ! command -v dput >/dev/null || ! docker info >/dev/null 2>&1 ||
   [ ! -f dist/cli/main.js ]; then
  say "setting up the project (scripts/setup.sh)"
  bash scripts/setup.sh >&2
fi

# ---------------------------------------------------------------------------------------
# Work area, archive root, clean-up.
work=$(mktemp -d /tmp/aib-bench-load-XXXX)
root=$work/root
mkdir -p "$work/logs" "$work/src"
archive_up=0
sampler=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  if [ "$archive_up" = 1 ]; then archive down >/dev/null 2>&1 || true; fi
  # Its containers, and the build-dependency images its builds made or used.
  remove_leftovers "$LABEL" $(deps_keys_of "$root")
  [ "$rc" -eq 0 ] || keep_logs load "$root/logs/queue.log"
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# The archive: own root, free port, two builds at once, build environment never refreshed
# during the bench (a refresh would be timed as part of a build).
port=$(free_port)
init_root "$port"
sed -i "s/^\(  concurrency:\).*/\1 $CONCURRENCY/" "$root/archive.yaml"
grep -q "^  concurrency: $CONCURRENCY$" "$root/archive.yaml" || die "could not set builds.concurrency in $root/archive.yaml"
qa_off "$root/archive.yaml"
rebuilds_off "$root/archive.yaml"
say "archive up (root $root, port $port, builds.concurrency $CONCURRENCY)"
archive_up=1
archive up --json >"$work/up.json" 2>"$work/logs/up.log" || { tail_log "$work/logs/up.log"; die "archive up"; }
json() { node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]; console.log(v)' "$work/up.json" "$1"; }
json dputConfig >"$work/dput.cf"
project=$(json project)

# ---------------------------------------------------------------------------------------
# The packages (not timed as part of the run).
say "making $COUNT source packages"
t0=$(now)
node bench/make-load.mjs "$work/src" "$COUNT" >"$work/changes.list" 2>"$work/logs/make.log" || { tail_log "$work/logs/make.log"; die "making the packages"; }
[ "$(wc -l <"$work/changes.list")" -eq "$COUNT" ] || die "bench/make-load.mjs made $(wc -l <"$work/changes.list") packages, expected $COUNT"
say "  made in $(secs "$t0" "$(now)") s"

# ---------------------------------------------------------------------------------------
# Sampler: every second, the build containers of this archive running at once, and each
# service's memory as `docker stats` sees it (the fallback where no cgroup peak file is found).
cid() { docker inspect --format '{{.Id}}' "$project-$1"; }
declare -A ids
for role in queue builder repo; do ids[$role]=$(cid "$role"); done
(
  while :; do
    n=$(docker ps -q --filter "label=archive-in-a-box.project=$project" --filter label=archive-in-a-box.build | wc -l)
    echo "builds $n"
    docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$project-queue" "$project-builder" "$project-repo" 2>/dev/null |
      awk '{ print "mem", $1, $2 }'
    sleep 1
  done
) >"$work/samples" 2>/dev/null &
sampler=$!

# The cgroup's own peak for a container, in bytes ("" when this host shows none).
peak_bytes() {
  local id=$1 f
  for f in "/sys/fs/cgroup/memory/docker/$id/memory.max_usage_in_bytes" "/sys/fs/cgroup/system.slice/docker-$id.scope/memory.peak" \
           "/sys/fs/cgroup/docker/$id/memory.peak"; do
    [ -r "$f" ] && { cat "$f"; return; }
  done
  echo ""
}
# Largest `docker stats` sample for a container, in MiB.
sampled_mib() {
  awk -v name="$1" '$1 == "mem" && $2 == name {
      v = $3; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
      m = (u == "GiB") ? v * 1024 : (u == "MiB") ? v : (u == "KiB") ? v / 1024 : v / 1048576
      if (m > max) max = m }
    END { printf "%.0f", max }' "$work/samples"
}

# ---------------------------------------------------------------------------------------
# The burst: one dput for all of them (dput takes many .changes files), then wait until every
# upload is decided. Decided: published, failed or rejected; anything else is still under way.
say "dput of $COUNT uploads in one burst"
t0=$(now)
mapfile -t changes <"$work/changes.list"
dput -c "$work/dput.cf" archive "${changes[@]}" >"$work/logs/dput.log" 2>&1 || { tail_log "$work/logs/dput.log"; die "dput"; }
t_dput=$(now)
say "  dput done in $(secs "$t0" "$t_dput") s; waiting for every upload to be decided"

expected=$(sed -E 's|.*/([^/_]+)_([^_]+)_source\.changes$|\1 \2|' "$work/changes.list")
summary() { # prints "decided published failed rejected waiting building dep-wait given-back-so-far"
  archive status --json | node -e '
    const expected = process.argv[1].split("\n").filter(Boolean);
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const last = new Map();
    for (const u of s.uploads) last.set(`${u.source} ${u.version}`, u);
    const c = { published: 0, failed: 0, rejected: 0, other: 0 };
    let building = 0, depwait = 0;
    for (const key of expected) {
      const u = last.get(key);
      if (!u) { c.other++; continue; }
      if (u.state in c) c[u.state]++; else c.other++;
      for (const j of u.jobs) { if (j.state === "building") building++; if (j.state === "dep-wait") depwait++; }
    }
    console.log(c.published + c.failed + c.rejected, c.published, c.failed, c.rejected, c.other, building, depwait);' "$expected"
}
deadline=$(( $(date +%s) + TIMEOUT ))
last_print=0
while :; do
  read -r decided published failed rejected other building depwait < <(summary)
  if [ "$decided" -eq "$COUNT" ]; then break; fi
  if [ "$(date +%s)" -gt "$deadline" ]; then say "gave up after $TIMEOUT s with $other upload(s) not decided"; break; fi
  if [ $(( $(date +%s) - last_print )) -ge 30 ]; then
    say "  $decided/$COUNT decided ($published published, $failed failed, $rejected rejected; $building building, $depwait in dep-wait)"
    last_print=$(date +%s)
  fi
  sleep 2
done
t1=$(now)
kill "$sampler" 2>/dev/null || true; sampler=""

# ---------------------------------------------------------------------------------------
total=$(secs "$t0" "$t1")
lost=$(( COUNT - decided ))
builds_max=$(awk '$1 == "builds" && $2 > m { m = $2 } END { print m + 0 }' "$work/samples")
status_json=$(archive status --json)
attempts=$(node -e 'const s = JSON.parse(process.argv[1]); let a = 0, j = 0; for (const u of s.uploads) for (const x of u.jobs) { j++; a += x.attempts; } console.log(`${j} ${a}`)' "$status_json")
read -r jobs_n attempts_n <<<"$attempts"
depwaits=$(grep -oE 'job [^ ]+: dep-wait' "$root/logs/queue.log" | sort -u | wc -l || true)
givebacks=$(grep -cE 'given back|lease of .* expired' "$root/logs/queue.log" || true)
mem_rows=()
for role in queue builder repo; do
  peak=$(peak_bytes "${ids[$role]}")
  if [ -n "$peak" ]; then mem_rows+=("$(printf '  %-8s %6s MiB (cgroup peak)   %6s MiB (largest docker stats sample)' "$role" "$((peak / 1048576))" "$(sampled_mib "$project-$role")")")
  else mem_rows+=("$(printf '  %-8s %6s MiB (largest docker stats sample; no cgroup peak file)' "$role" "$(sampled_mib "$project-$role")")"); fi
done
if [ "$givebacks" -gt 0 ]; then
  say "jobs given back or whose lease ran out:"
  grep -E 'given back|lease of .* expired|giving it back' "$root/logs/queue.log" | sed 's/^/    /' >&2 || true
fi
if [ "$failed" -gt 0 ] || [ "$rejected" -gt 0 ]; then
  say "not published:"
  node -e 'const s = JSON.parse(process.argv[1]); for (const u of s.uploads) if (u.state === "failed" || u.state === "rejected") console.error(`    ${u.source} ${u.version}: ${u.state}: ${u.reasons.join("; ")}`)' "$status_json"
fi

cat <<REPORT

archive-in-a-box load bench ($(nproc) cores, $(docker info --format '{{.Driver}}'), $(date -u +%F); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)
$COUNT source uploads in one dput burst (dput itself: $(secs "$t0" "$t_dput") s); builds.concurrency $CONCURRENCY
  total time (first dput to last upload decided)  $total s
  throughput                                      $(awk -v n="$COUNT" -v t="$total" 'BEGIN { printf "%.1f", n * 60 / t }') uploads/min
  build concurrency used (most at once)           $builds_max of $CONCURRENCY
  published / failed / rejected                   $published / $failed / $rejected
  lost (never decided)                            $lost
  jobs / leases                                   $jobs_n / $attempts_n ($givebacks given back or lease expired; $depwaits job(s) waited for build-dependencies)
peak memory per container:
$(printf '%s\n' "${mem_rows[@]}")
REPORT
[ "$lost" -eq 0 ] || die "$lost upload(s) were never decided"
exit 0
