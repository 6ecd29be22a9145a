#!/usr/bin/env bash
# QA bench: what the QA checks (lintian, blhc, piuparts, and autopkgtest where the source has
# tests: a new root's default) cost against
# the build of the same package, the peer, measured in the same run. For each real Debian
# source (small ones by default), two uploads (.aib1, then .aib2 so piuparts also upgrades):
#   - build: the build job's time on the worker;
#   - each check's job time on the worker (lease to report, installing its tools the first
#     time), and the time its tool took;
#   - dput -> published (`archive wait` returns), and dput -> every check done;
#   - after publication: how long the checks took beyond it, against the build's time. The
#     target: the default set adds at most one build's time, and delays publication by none
#     (checks run after the builds and gate nothing).
#
# Prints the table on stdout and progress on stderr. The first run also makes the QA tools'
# image (lintian and blhc on the build environment; kept in the build-dependency cache): the
# .aib1 row counts it, the .aib2 row shows the warm figure. Re-runnable; on exit it stops its
# archive and removes its root, its containers and its work folder.
#
#   bash bench/qa.sh
#   BENCH_SOURCES="lzip sl" bash bench/qa.sh
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$PWD
. bench/lib.sh

CANDIDATES=${BENCH_SOURCES:-"figlet hello lzip"}
WAIT_TIMEOUT=1800
bench_archive qa
rebuilds_off "$root/archive.yaml"
grep -q '^    qa:' "$root/archive.yaml" || die "a new root lists no QA checks in $root/archive.yaml"
bench_up

say "fetching a source (first of: $CANDIDATES)"
src=$(fetch_source "$work/src" archive/buildenv:trixie-amd64 "$LABEL" $CANDIDATES 2>"$work/logs/sources.log") || { tail_log "$work/logs/sources.log"; die "fetching a source"; }
dir=$work/src/$src
dsc=$(cd "$dir" && ls ./*.dsc | head -n1); dsc=${dsc#./}
oldver=$(awk '/^Version:/ { print $2; exit }' "$dir/$dsc")
(cd "$dir" && dpkg-source -x "$dsc" >"$work/logs/unpack.log" 2>&1) || { tail_log "$work/logs/unpack.log"; die "dpkg-source -x $dsc"; }
say "source: $src $oldver"

# One upload's figures from `archive status --json` once its checks ended (exit 3 before):
# "BUILD_S" then "ID TOOL_S" for lintian, blhc, piuparts and autopkgtest ("- n/a" for a check
# not made: autopkgtest where the source has no tests), then "CHECK=VERDICT,...".
figures() { # source version
  node -e '
    const [src, ver] = process.argv.slice(1);
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const u = s.uploads.filter((u) => u.source === src && u.version === ver).pop();
    const checks = ["lintian", "blhc", "piuparts", "autopkgtest"].map((c) => u?.qa.find((q) => q.check === c));
    if (!u || checks.slice(0, 3).some((c) => !c) || checks.some((c) => c && !["done", "failed", "cancelled"].includes(c.state))) process.exit(3);
    const b = u.jobs[0];
    const build = ((Date.parse(b.finishedAt) - Date.parse(b.startedAt)) / 1000).toFixed(1);
    console.log([build, ...checks.flatMap((c) => (c ? [c.id, c.seconds ?? "n/a"] : ["-", "n/a"])), checks.filter(Boolean).map((c) => `${c.check}=${c.verdict ?? c.state}`).join(",")].join(" "));
  ' "$1" "$2" <"$work/status.json"
}
# A job's time on the worker, lease to report, from its record ("n/a" for "-": no such job).
job_secs() {
  [ "$1" = - ] && { echo n/a; return; }
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(((Date.parse(j.finishedAt) - Date.parse(j.startedAt)) / 1000).toFixed(1))' "$root/state/jobs/$1.json"
}

printf 'qa bench: %s, one upload at a time, a new root'"'"'s checks (load before: %s)\n\n' "$src" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$work/table"
row() { printf '%-20s %8s %10s %8s %11s %14s %12s %14s %16s  %s\n' "$@" >>"$work/table"; }
row upload build_s lintian_s blhc_s piuparts_s autopkgtest_s published_s checks_done_s "after_pub/build" verdicts
for n in 1 2; do
  ver=$(make_upload "$dir" "$src" "$oldver" "$n")
  say "== $src $ver: dput, wait for publication, then for its checks"
  t0=$(now)
  dput -c "$work/dput.cf" archive "$dir/${src}_${ver#*:}_source.changes" >"$work/logs/dput-$n.log" 2>&1 || { tail_log "$work/logs/dput-$n.log"; die "dput"; }
  archive wait "$src" "$ver" --timeout "$WAIT_TIMEOUT" >"$work/logs/wait-$n.log" 2>&1 || { tail_log "$work/logs/wait-$n.log"; die "$src $ver was not published"; }
  t1=$(now)
  deadline=$(( $(date +%s) + WAIT_TIMEOUT ))
  until archive status --json >"$work/status.json" && line=$(figures "$src" "$ver"); do
    [ "$(date +%s)" -lt "$deadline" ] || die "the checks of $src $ver did not finish in $WAIT_TIMEOUT s"
    sleep 1
  done
  t2=$(now)
  read -r build lintian_id lintian_tool blhc_id blhc_tool piuparts_id piuparts_tool autopkgtest_id autopkgtest_tool verdicts <<<"$line"
  lintian=$(job_secs "$lintian_id"); blhc=$(job_secs "$blhc_id"); piuparts=$(job_secs "$piuparts_id"); autopkgtest=$(job_secs "$autopkgtest_id")
  published=$(secs "$t0" "$t1"); done_s=$(secs "$t0" "$t2")
  after=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }')
  say "$ver: build $build s; lintian $lintian s (tool $lintian_tool s), blhc $blhc s (tool $blhc_tool s), piuparts $piuparts s (tool $piuparts_tool s), autopkgtest $autopkgtest s (tool $autopkgtest_tool s); published after $published s, checks done after $done_s s; $verdicts"
  row "$ver" "$build" "$lintian" "$blhc" "$piuparts" "$autopkgtest" "$published" "$done_s" "$(ratio "$after" "$build")x" "$verdicts"
done
printf '\nbuild_s and each check: the job on the worker, lease to report (.aib1 includes installing the QA tools once).\nafter_pub/build: time from publication to the last check done, against the build time (target: at most 1.00x).\n' >>"$work/table"
cat "$work/table"
