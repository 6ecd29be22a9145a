#!/usr/bin/env bash
# Builder bench: how long a real Debian source takes from `dput` to published, against
#   - the floor: `dpkg-buildpackage -us -uc -b` alone, in a container that already has the
#     build-dependencies (the archive's own cached build-dependency image, so the same
#     packages), timed inside the container;
#   - archive cold: dput -> `archive wait` returns, with no cached build-dependency image
#     (`archive cache prune` first), so apt installs every build-dependency;
#   - archive warm: the same again with a new version, the build-dependency image cached;
#   - the peer: Debian's own builder, `sbuild --chroot-mode=unshare` (sbuild, mmdebstrap and
#     uidmap from Debian), run as an unprivileged user with subuid/subgid ranges, from a
#     chroot tarball made once by mmdebstrap and kept in that user's ~/.cache/sbuild.
# for a small package (a compiled program with a few build-dependencies, like GNU hello) and
# one with a much larger build-dependency set. Targets: warm within 1.15x the floor (the
# performance issue's), at least about 1.6x faster than sbuild; cold no slower than sbuild.
#
# Prints the table on stdout and progress on stderr. Takes about 20 minutes on a quiet 2-core
# machine (more with BENCH_REPEAT=N, which measures warm and floor N times each, alternating,
# and reports the best of each: the least disturbed by whatever else the machine runs).
# Re-runnable; on exit it stops its archive and removes its root, its containers, its work
# folder and the build-dependency images it made. Destructive for the shared cache:
# `archive cache prune` removes every archive/deps image before each cold run.
#
#   bash bench/builder.sh
#   BENCH_SMALL="hello less" BENCH_HEAVY="galculator" BENCH_REPEAT=3 bash bench/builder.sh
#
# Sources come from the Debian mirror named in the archive/base image (no host is written
# here); a candidate whose source files the mirror lacks is skipped for the next one.
# Candidates should be Architecture: any only, so -b (floor), -B (archive) and sbuild's
# --arch-any build the same binaries.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$PWD
. bench/lib.sh

SMALL_CANDIDATES=${BENCH_SMALL:-"hello less lzip sl"}
HEAVY_CANDIDATES=${BENCH_HEAVY:-"galculator xarchiver"}
BASE_IMAGE=archive/base:trixie         # names the Debian mirror (debootstrap wrote it)
BUILDENV_IMAGE=archive/buildenv:trixie-amd64 # what the archive builds from
DIST=trixie                            # the Debian release all three build against
SBUILD_USER=${BENCH_SBUILD_USER:-sbuildbench}
REPEAT=${BENCH_REPEAT:-1}              # warm and floor runs per package (the best is reported)
WAIT_TIMEOUT=1800

export ARCHIVE_RUN_ID="bench-$$"
LABEL="archive-in-a-box.run-id=$ARCHIVE_RUN_ID"

archive() { node "$repo/bin/archive.js" --root "$root" "$@"; }

# ---------------------------------------------------------------------------------------
# Prerequisites: the project's own (Docker engine, dput, dpkg-dev, compiled CLI) and the
# peer's (sbuild, mmdebstrap, uidmap, zstd for the chroot tarball), from Debian.
if ! command -v docker >/dev/null || ! command -v dput >/dev/null || ! docker info >/dev/null 2>&1 ||
   [ ! -f dist/cli/main.js ]; then
  say "setting up the project (scripts/setup.sh)"
  bash scripts/setup.sh >&2
fi
need=()
for pair in sbuild:sbuild mmdebstrap:mmdebstrap newuidmap:uidmap zstd:zstd dpkg-source:dpkg-dev; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi
for img in "$BASE_IMAGE" "$BUILDENV_IMAGE"; do
  docker image inspect "$img" >/dev/null 2>&1 || die "image $img is missing: run \`archive up\` once (it makes it)"
done

# ---------------------------------------------------------------------------------------
# Work area, archive root, clean-up.
work=$(mktemp -d /tmp/aib-bench-builder-XXXX)
chmod 755 "$work" # the sbuild user reads its sources from here
root=$work/root
mkdir -p "$work/logs" "$work/src"
made_deps=()  # build-dependency images this run made (removed at exit; see cleanup too)
archive_up=0
# The long waits (archive wait, sbuild) run through `tracked`, which notes their process ids
# in a file: when the script is stopped, cleanup ends them even if the subshell that started
# them is gone (an `archive wait` left behind would poll a removed root until its timeout).
# Then every process still under this script, deepest first.
tracked() { "$@" & local pid=$!; echo "$pid" >>"$work/pids"; wait "$pid"; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -f "$work/pids" ] && kill $(cat "$work/pids") 2>/dev/null || true
  kill $(descendants $$) 2>/dev/null || true
  if [ "$archive_up" = 1 ]; then archive down >/dev/null 2>&1 || true; fi
  # The job records name every build-dependency image a build of this archive used; after
  # the prune before each cold run, those are the ones this run made.
  made_deps+=($(deps_keys_of "$root"))
  # Every container this run made carries its run id (the archive's too).
  remove_leftovers "$LABEL" "${made_deps[@]}"
  [ "$rc" -eq 0 ] || keep_logs builder
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# The archive, with its own root and a free port, no QA checks (they would run beside the builds).
port=$(free_port)
init_root "$port"
qa_off "$root/archive.yaml"
rebuilds_off "$root/archive.yaml"
# The archive builds with parallel=<builds.cpus>; the floor and sbuild get the same.
JOBS=$(awk '$1 == "cpus:" { print $2; exit }' "$root/archive.yaml")
JOBS=${JOBS:-$(nproc)}
say "archive up (root $root, port $port)"
archive_up=1
archive up --json >"$work/up.json" 2>"$work/logs/up.log" || { tail_log "$work/logs/up.log"; die "archive up"; }
node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).dputConfig)' "$work/up.json" >"$work/dput.cf"

# The mirror, as debootstrap wrote it into the base image (one-line or deb822 form).
mirror=$(docker run --rm --label "$LABEL" --network none "$BASE_IMAGE" \
    sh -c 'cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null; true' |
  awk '!m && ($1 == "deb" || $1 == "URIs:") { for (i = 2; i <= NF; i++) if (!m && $i ~ /^[a-z+]+:\/\//) { m = 1; print $i } }')
[ -n "$mirror" ] || die "no Debian mirror found in $BASE_IMAGE's apt sources"
say "Debian mirror (from $BASE_IMAGE): $mirror"

# ---------------------------------------------------------------------------------------
# Sources: apt-get source --download-only in a buildenv container with deb-src entries made
# from the image's own deb entries; per group, the first candidate whose files all download.
say "fetching sources (small: $SMALL_CANDIDATES; heavy: $HEAVY_CANDIDATES)"
small=$(fetch_source "$work/src" "$BUILDENV_IMAGE" "$LABEL" $SMALL_CANDIDATES 2>>"$work/logs/sources.log") ||
  { tail_log "$work/logs/sources.log"; die "fetching sources"; }
heavy=$(fetch_source "$work/src" "$BUILDENV_IMAGE" "$LABEL" $HEAVY_CANDIDATES 2>>"$work/logs/sources.log") ||
  { tail_log "$work/logs/sources.log"; die "fetching sources"; }
printf 'small %s\nheavy %s\n' "$small" "$heavy" >"$work/src/picked"

# The upload record's build job, as `archive status --json` tells it: field of the one job.
job_field() { # source version field
  archive status --json | node -e '
    const [src, ver, field] = process.argv.slice(1);
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const u = s.uploads.filter((u) => u.source === src && u.version === ver).pop();
    console.log((u && u.jobs[0] && u.jobs[0][field]) || "");' "$1" "$2" "$3"
}

# dput -> published: from starting dput to `archive wait` returning 0. Prints seconds.
dput_to_published() { # dir source version label
  local dir=$1 src=$2 ver=$3 what=$4 t0 t1 log
  log="$work/logs/$src-$what.log"
  t0=$(now)
  dput -c "$work/dput.cf" archive "$dir/${src}_${ver#*:}_source.changes" >"$log" 2>&1 ||
    { tail_log "$log"; die "dput of $src $ver"; }
  if ! tracked node "$repo/bin/archive.js" --root "$root" wait "$src" "$ver" --timeout "$WAIT_TIMEOUT" >>"$log" 2>&1; then
    tail_log "$log"
    local blog; blog=$(job_field "$src" "$ver" log)
    [ -n "$blog" ] && [ -f "$root/public/$blog" ] && tail_log "$root/public/$blog" 40
    die "$src $ver was not published"
  fi
  t1=$(now)
  secs "$t0" "$t1"
}

# Copies a .dsc and the files it lists into a new folder.
stage_dsc() { # dir dsc dest
  mkdir -p "$3"
  cp "$1/$2" "$3/"
  awk '/^Files:/ { f = 1; next } /^[^ ]/ { f = 0 } f && NF == 3 { print $3 }' "$1/$2" |
    while read -r f; do cp "$1/$f" "$3/"; done
}

# The floor: dpkg-buildpackage -b alone, timed inside a container made from the image the
# archive installed the build-dependencies into (so exactly the same packages), shaped like
# the archive's own build container: user builder, a /build volume, /tmp on tmpfs, no
# network, read-only root, no capabilities, the same memory/pids limits and parallel=N.
# Without that image (someone pruned the cache meanwhile) it installs the build-dependencies
# itself with apt-get build-dep in an ordinary container, and times the build there.
floor() { # dir dsc depsimage -> prints seconds
  local dir=$1 dsc=$2 image=$3 name="bench-$$-floor" log="$work/logs/floor-${2%.dsc}.log" fdir="$work/floor-${2%.dsc}"
  local shape=(--tmpfs /tmp:rw,exec,nosuid,size=2g --memory 4g --pids-limit 4096)
  docker rm -f "$name" >/dev/null 2>&1 || true
  stage_dsc "$dir" "$dsc" "$fdir"
  if [ -n "$image" ]; then
    shape+=(--network none --read-only --cap-drop ALL --security-opt no-new-privileges)
  else
    say "  (no cached build-dependency image: installing them with apt-get build-dep)"
    image=$BUILDENV_IMAGE
  fi
  docker run -d --name "$name" --label "$LABEL" "${shape[@]}" -v "$fdir:/src:ro" -v /build \
    -e HOME=/build -e LANG=C.UTF-8 -e DPKG_COLORS=never -e "DEB_BUILD_OPTIONS=parallel=$JOBS" \
    -e DEBIAN_FRONTEND=noninteractive "$image" sleep infinity >/dev/null
  if [ "$image" = "$BUILDENV_IMAGE" ]; then
    docker exec "$name" apt-get build-dep -y -q "/src/$dsc" >>"$log" 2>&1 || { tail_log "$log"; die "floor: apt-get build-dep"; }
  fi
  # /build comes from the image owned by builder; a new volume keeps that.
  docker exec -u builder -w /build "$name" bash -c "cp /src/* . && dpkg-source -x $dsc src" >>"$log" 2>&1 ||
    { tail_log "$log"; die "floor: dpkg-source -x"; }
  docker exec -u builder -w /build/src "$name" bash -c '
    set -e
    t0=$(date +%s.%N)
    dpkg-buildpackage -us -uc -b >&2
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.1f\", b - a }"' 2>>"$log" ||
    { tail_log "$log"; die "floor: dpkg-buildpackage"; }
  docker rm -f -v "$name" >/dev/null
}

# ---------------------------------------------------------------------------------------
# The peer: sbuild --chroot-mode=unshare as an unprivileged user with subordinate ids. Needs
# no ~/.sbuildrc: the chroot is found as ~/.cache/sbuild/DIST-ARCH.tar.zst by name.
arch=$(dpkg --print-architecture)
if ! id "$SBUILD_USER" >/dev/null 2>&1; then
  say "creating the unprivileged user $SBUILD_USER for sbuild"
  useradd --create-home --shell /bin/bash "$SBUILD_USER"
fi
sbhome=$(getent passwd "$SBUILD_USER" | cut -d: -f6)
for kind in uid gid; do
  if ! grep -q "^$SBUILD_USER:" "/etc/sub$kind" 2>/dev/null; then
    # 65536 ids past every range already given out (and not below 100000).
    start=$(awk -F: '{ e = $2 + $3; if (e > m) m = e } END { print (m > 100000 ? m : 100000) }' "/etc/sub$kind" 2>/dev/null || echo 100000)
    usermod "--add-sub${kind}s" "$start-$((start + 65535))" "$SBUILD_USER"
    say "gave $SBUILD_USER sub${kind}s $start-$((start + 65535))"
  fi
done
as_sbuild_user() { # dir command... (a clean environment, the user's own HOME)
  local dir=$1; shift
  (cd "$dir" && runuser -u "$SBUILD_USER" -- env -i HOME="$sbhome" USER="$SBUILD_USER" LOGNAME="$SBUILD_USER" \
     PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 "$@")
}
tarball=$sbhome/.cache/sbuild/$DIST-$arch.tar.zst
chroot_made=""
if [ ! -s "$tarball" ]; then
  say "making the sbuild chroot tarball (mmdebstrap --mode=unshare --variant=buildd $DIST, once; kept in $tarball)"
  as_sbuild_user "$sbhome" mkdir -p "$sbhome/.cache/sbuild"
  t0=$(now)
  as_sbuild_user "$sbhome" mmdebstrap --mode=unshare --variant=buildd "$DIST" "$tarball.part.tar.zst" "$mirror" \
    >"$work/logs/mmdebstrap.log" 2>&1 || { rm -f "$tarball.part.tar.zst"; tail_log "$work/logs/mmdebstrap.log"; die "mmdebstrap"; }
  mv "$tarball.part.tar.zst" "$tarball"
  chroot_made=$(secs "$t0" "$(now)")
  say "  chroot tarball made in $chroot_made s"
fi

sbuild_time() { # dir dsc -> prints seconds (the whole sbuild run, wall clock)
  local dir=$1 dsc=$2 sbdir="$work/sbuild-${2%.dsc}" log="$work/logs/sbuild-${2%.dsc}.log" archflags=(--arch-any --no-arch-all) t0 t1
  stage_dsc "$dir" "$dsc" "$sbdir"
  chown -R "$SBUILD_USER:" "$sbdir"
  # As the archive plans it on this architecture: -b for a source that also has arch-all.
  grep -qE '^Architecture:.*\<all\>' "$dir/$dsc" && archflags=(--arch-any --arch-all)
  cd "$sbdir" # sbuild writes its results to the current folder
  t0=$(now)
  tracked runuser -u "$SBUILD_USER" -- env -i HOME="$sbhome" USER="$SBUILD_USER" LOGNAME="$SBUILD_USER" \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 \
    sbuild --chroot-mode=unshare -d "$DIST" --jobs="$JOBS" "${archflags[@]}" \
    --no-run-lintian --no-run-piuparts --no-run-autopkgtest --nolog "$dsc" >"$log" 2>&1 ||
    { tail_log "$log" 40; die "sbuild of $dsc"; }
  t1=$(now)
  # sbuild's own summary: seconds it spent installing build-dependencies and building.
  say "  (sbuild's summary: $(grep -E '^(Install|Build)-Time:' "$log" | tr '\n' ' '))"
  secs "$t0" "$t1"
}

best() { printf '%s\n' "$@" | sort -n | head -n1; }

# From the queue's log: seconds from the job's lease to "built", i.e. the builder's part
# (resolve, build-dependencies, build, collect) of a dput-to-published time.
builder_secs() { # source version
  awk -v id="${1}_${2#*:}_source-" '
    function t(s) { gsub(/[-:TZ]/, " ", s); split(s, a, " "); return mktime(a[1] " " a[2] " " a[3] " " a[4] " " a[5] " " int(a[6])) + a[6] - int(a[6]) }
    index($0, id) && / leased to / && !l { l = t($1) }
    index($0, id) && / built$/ { b = t($1) }
    END { if (l && b) printf "%.1f", b - l; else printf "?" }' "$root/logs/queue.log" 2>/dev/null || echo "?"
}

# ---------------------------------------------------------------------------------------
# The runs, per package: cold, then warm and floor (from the image cold made), then sbuild.
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -a rows=()
mapfile -t picked <"$work/src/picked" # "group source" lines
for pick in "${picked[@]}"; do
  read -r group src <<<"$pick"
  dir=$work/src/$src
  dsc=$(cd "$dir" && ls ./*.dsc | head -n1); dsc=${dsc#./}
  oldver=$(awk '/^Version:/ { print $2; exit }' "$dir/$dsc")
  say "== $group package: $src $oldver"
  (cd "$dir" && dpkg-source -x "$dsc" >"$work/logs/$src-unpack.log" 2>&1) || { tail_log "$work/logs/$src-unpack.log"; die "dpkg-source -x $dsc"; }

  # Version .aib1 for the cold run, .aib2 ... for the warm ones.
  versions=()
  for n in $(seq 1 $((REPEAT + 1))); do versions+=("$(make_upload "$dir" "$src" "$oldver" "$n")"); done
  v1=${versions[0]}

  say "  archive cold: cache prune, dput $src $v1, wait"
  node "$repo/bin/archive.js" cache prune >"$work/logs/prune-$src.log" 2>&1 || { tail_log "$work/logs/prune-$src.log"; die "cache prune"; }
  cold=$(dput_to_published "$dir" "$src" "$v1" cold)
  key=$(job_field "$src" "$v1" depsKey)
  [ -n "$key" ] && made_deps+=("$key")
  blog=$(job_field "$src" "$v1" log)
  ndeps=$(grep -oE 'installing [0-9]+ build-dependencies' "$root/public/$blog" 2>/dev/null | grep -oE '[0-9]+' | head -n1 || true)
  say "  archive cold: $cold s (${ndeps:-?} build-dependencies installed; builder $(builder_secs "$src" "$v1") s from lease to built)"

  # Warm runs and floor runs alternate, so that a change in the machine's load hits both.
  warms=(); floors=()
  for n in $(seq 1 "$REPEAT"); do
    v=${versions[$n]}
    say "  archive warm ($n/$REPEAT): dput $src $v, wait"
    warms+=("$(dput_to_published "$dir" "$src" "$v" "warm$n")")
    wkey=$(job_field "$src" "$v" depsKey)
    [ "$wkey" = "$key" ] || say "  warning: the warm build used build-dependency image ${wkey:-none}, not ${key:-none}"
    say "  archive warm ($n/$REPEAT): ${warms[-1]} s (builder $(builder_secs "$src" "$v") s from lease to built)"

    say "  floor ($n/$REPEAT): dpkg-buildpackage -b in a prepared container"
    image=""
    [ -n "$key" ] && docker image inspect "archive/deps:$key" >/dev/null 2>&1 && image="archive/deps:$key"
    floors+=("$(floor "$dir" "${src}_${v1#*:}.dsc" "$image")")
    say "  floor ($n/$REPEAT): ${floors[-1]} s"
  done
  warm=$(best "${warms[@]}"); fl=$(best "${floors[@]}")

  say "  sbuild --chroot-mode=unshare $src $v1"
  sb=$(sbuild_time "$dir" "${src}_${v1#*:}.dsc")
  say "  sbuild: $sb s"

  rows+=("$(printf '%-6s %-28s %5s %8s %8s %8s %8s %10s %11s %11s' "$group" "$src $oldver" "${ndeps:-?}" \
    "$fl" "$cold" "$warm" "$sb" "$(ratio "$warm" "$fl")" "$(ratio "$sb" "$warm")" "$(ratio "$cold" "$sb")")")
done

# ---------------------------------------------------------------------------------------
cat <<REPORT

archive-in-a-box builder bench ($(nproc) cores, $(docker info --format '{{.Driver}}'), $(date -u +%F); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)
sources from $DIST; floor = dpkg-buildpackage -b alone; archive = dput -> published (archive wait);
sbuild $(dpkg-query -W -f '${Version}' sbuild) --chroot-mode=unshare, whole run; deps = build-dependencies apt installed;
warm and floor: best of $REPEAT run(s); parallel=$JOBS everywhere
$(printf '%-6s %-28s %5s %8s %8s %8s %8s %10s %11s %11s' group package deps "floor s" "cold s" "warm s" "sbuild s" warm/floor sbuild/warm cold/sbuild)
$(printf '%s\n' "${rows[@]}")
targets: warm/floor <= 1.15, sbuild/warm >= ~1.6, cold/sbuild <= 1.00
REPORT
[ -n "$chroot_made" ] && echo "(the sbuild chroot tarball was made this run, in $chroot_made s, not counted above)"
exit 0
