#!/usr/bin/env bash
# Reproducible-builds bench: what a rebuild (every build built again by another worker slot,
# under variation, and compared: a new root's default) costs against the build of the same
# package, the peer, measured in the same run; and how many real Debian sources rebuild bit for
# bit here, with what made the others differ. For each real Debian source (small ones by
# default; those whose source files the mirror lacks are skipped), one upload at a time:
#   - build_s, rebuild_s: the build's and the rebuild's jobs on the worker, lease to report
#     (the rebuild with the same build-dependency image: the first build's, from the cache);
#   - rebuild/build: their ratio (target: close to 1.00x);
#   - published_s: dput -> published (`archive wait` returns); verdict_s: dput -> the verdict;
#   - after_pub: whether the rebuild started only after the publication (rebuilds never delay it);
#   - the verdict, and for an unreproducible one the packages that differ and the first file
#     diffoscope names in each.
#
# Prints the table on stdout and progress on stderr. The first unreproducible source also
# installs diffoscope on the build environment once (kept in the build-dependency cache).
# Re-runnable; on exit it stops its archive and removes its root, its containers and its work folder.
#
#   bash bench/reproducible.sh
#   BENCH_SOURCES="lzip sl" bash bench/reproducible.sh
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$PWD
. bench/lib.sh

CANDIDATES=${BENCH_SOURCES:-"figlet lzip sl cowsay bzip2 pigz dash lz4 less hello tree"}
WAIT_TIMEOUT=1800
bench_archive reproducible
qa_off "$root/archive.yaml"
grep -q '^    rebuilds: on$' "$root/archive.yaml" || die "a new root does not rebuild every build ($root/archive.yaml)"
bench_up

# The rebuild's figures once it has a verdict (exit 3 before): "BUILD_ID REBUILD_ID VERDICT
# AFTER_PUB" then, for an unreproducible one, "PACKAGE differs (FILE), ..." (the reason when it failed).
figures() { # source version
  node -e '
    const [src, ver, uploads] = process.argv.slice(1);
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const u = s.uploads.filter((u) => u.source === src && u.version === ver).pop();
    const r = u?.qa.find((q) => q.check === "rebuild");
    if (!r || !r.reproducibility) process.exit(3);
    const published = JSON.parse(require("fs").readFileSync(`${uploads}/${u.id}.json`, "utf8")).updatedAt;
    const job = JSON.parse(require("fs").readFileSync(`${uploads}/../jobs/${r.id}.json`, "utf8"));
    const why = r.reproducibility === "failed" ? r.reason : r.reproducibility === "unreproducible" ? r.summary.replace(/^unreproducible: /, "") : "";
    console.log([u.jobs[0].id, r.id, r.reproducibility, Date.parse(job.startedAt) >= Date.parse(published) ? "yes" : "no", why].join(" "));
  ' "$1" "$2" "$root/state/uploads" <"$work/status.json"
}
# A job's time on the worker, lease to report, from its record.
job_secs() {
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(((Date.parse(j.finishedAt) - Date.parse(j.startedAt)) / 1000).toFixed(1))' "$root/state/jobs/$1.json"
}

printf 'reproducible bench: one upload at a time, each build rebuilt under variation by another slot (load before: %s)\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >"$work/table"
row() { printf '%-28s %8s %10s %14s %12s %10s %10s  %s\n' "$@" >>"$work/table"; }
row upload build_s rebuild_s rebuild/build published_s verdict_s after_pub verdict
total=0; same=0; differ=""
for candidate in $CANDIDATES; do
  src=$(fetch_source "$work/src" archive/buildenv:trixie-amd64 "$LABEL" "$candidate" 2>"$work/logs/sources-$candidate.log") || { say "skipping $candidate: the mirror lacks its source files"; continue; }
  dir=$work/src/$src
  dsc=$(cd "$dir" && ls ./*.dsc | head -n1); dsc=${dsc#./}
  oldver=$(awk '/^Version:/ { print $2; exit }' "$dir/$dsc")
  (cd "$dir" && dpkg-source -x "$dsc" >"$work/logs/unpack-$src.log" 2>&1) || { tail_log "$work/logs/unpack-$src.log"; die "dpkg-source -x $dsc"; }
  ver=$(make_upload "$dir" "$src" "$oldver" 1)
  say "== $src $ver: dput, wait for publication, then for the rebuild's verdict"
  t0=$(now)
  dput -c "$work/dput.cf" archive "$dir/${src}_${ver#*:}_source.changes" >"$work/logs/dput-$src.log" 2>&1 || { tail_log "$work/logs/dput-$src.log"; die "dput"; }
  if ! archive wait "$src" "$ver" --timeout "$WAIT_TIMEOUT" >"$work/logs/wait-$src.log" 2>&1; then
    say "$src $ver was not published (its build failed here?); skipping it"; tail_log "$work/logs/wait-$src.log" 5; continue
  fi
  t1=$(now)
  deadline=$(( $(date +%s) + WAIT_TIMEOUT ))
  until archive status --json >"$work/status.json" && line=$(figures "$src" "$ver"); do
    [ "$(date +%s)" -lt "$deadline" ] || die "the rebuild of $src $ver had no verdict after $WAIT_TIMEOUT s"
    sleep 1
  done
  t2=$(now)
  read -r build_id rebuild_id verdict after why <<<"$line"
  build=$(job_secs "$build_id"); rebuild=$(job_secs "$rebuild_id")
  say "$ver: build $build s, rebuild $rebuild s; $verdict${why:+: $why}"
  row "$src $ver" "$build" "$rebuild" "$(ratio "$rebuild" "$build")x" "$(secs "$t0" "$t1")" "$(secs "$t0" "$t2")" "$after" "$verdict"
  total=$((total + 1))
  if [ "$verdict" = reproducible ]; then same=$((same + 1)); else differ+="  $src $ver: $verdict: $why"$'\n'; fi
done
[ "$total" -gt 0 ] || die "none of $CANDIDATES could be fetched and built"
printf '\n%s of %s source(s) reproducible (%s%%)\n' "$same" "$total" "$((100 * same / total))" >>"$work/table"
[ -z "$differ" ] || printf 'what differed:\n%s' "$differ" >>"$work/table"
printf '\nbuild_s, rebuild_s: the jobs on the worker, lease to report. rebuild/build: target close to 1.00x.\nafter_pub: the rebuild started only after the upload was published (rebuilds never delay publishing).\n' >>"$work/table"
cat "$work/table"
