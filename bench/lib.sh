# Shared by the bench scripts (sourced): messages, timing and process helpers.

# Progress and errors go to stderr, stamped; figures go to stdout.
say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
# Shows the end of a log on stderr (for failures).
tail_log() { say "last lines of $1:"; tail -n "${2:-30}" "$1" | sed 's/^/    | /' >&2 || true; }

now() { date +%s.%N; }
# secs START END [DECIMALS]: the seconds between two `now`s (1 decimal unless told).
secs() { awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { printf "%." d "f", b - a }'; }
# ratio A B: A / B with 2 decimals, n/a unless both are positive.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

# Every process below PID, deepest first (to end what a bench started, however deep).
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do descendants "$c"; echo "$c"; done; }

# The build-dependency images (archive/deps:KEY) that the job records under ROOT name: the
# ones that archive's builds made or used.
deps_keys_of() { cat "$1"/state/jobs/*.json 2>/dev/null | grep -oE '"depsKey": *"[0-9a-f]+"' | grep -oE '[0-9a-f]{8,}' | sort -u || true; }
# remove_leftovers LABEL [KEY...]: every container labelled LABEL, then archive/deps:KEY for each KEY.
remove_leftovers() {
  local label=$1 key
  shift
  docker ps -aq --filter "label=$label" | xargs -r docker rm -f -v >/dev/null 2>&1 || true
  for key in $(printf '%s\n' "$@" | sort -u); do docker rmi "archive/deps:$key" >/dev/null 2>&1 || true; done
}
# qa_off ARCHIVE_YAML: no QA checks in any suite (a new root runs them all after every build,
# beside the next one: the benches that time builds switch them off; bench/qa.sh times them).
qa_off() {
  sed -i -e 's/^    qa:$/    qa: []/' -e '/^      - \(lintian\|blhc\|piuparts\|autopkgtest\)$/d' "$1"
  ! grep -qE '^      - (lintian|blhc|piuparts|autopkgtest)$' "$1" && grep -q '^    qa: \[\]$' "$1" || die "could not switch the QA checks off in $1"
}
# rebuilds_off FILE: no rebuild of every build (a new root's default) in archive.yaml FILE: a bench
# that times builds or checks does not share the cores with rebuilds.
rebuilds_off() {
  sed -i 's/^    rebuilds: on$/    rebuilds: off/' "$1"
  ! grep -q '^    rebuilds: on$' "$1" && grep -q '^    rebuilds: off$' "$1" || die "could not switch the rebuilds off in $1"
}
# keep_logs NAME [FILE...]: the work folder's logs/ (and the FILEs that exist) copied to
# /tmp/aib-bench-NAME-PID.logs, for a failed run; says where.
keep_logs() {
  local keep=/tmp/aib-bench-$1-$$.logs f
  shift
  [ -d "$work/logs" ] || return 0
  rm -rf "$keep" && cp -r "$work/logs" "$keep" 2>/dev/null || return 0
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$keep/"; done
  say "logs kept in $keep"
}
# init_root PORT: `archive init` of $root (the script's `archive` function) on PORT; its build
# environment is never refreshed during the bench (a refresh would be timed as part of a build).
init_root() {
  archive init --port "$1" >/dev/null 2>"$work/logs/init.log" || { tail_log "$work/logs/init.log"; die "archive init"; }
  sed -i 's/^\(  buildenv_max_age_hours:\).*/\1 8760/' "$root/archive.yaml"
  grep -q '^  buildenv_max_age_hours: 8760$' "$root/archive.yaml" || die "could not set builds.buildenv_max_age_hours in $root/archive.yaml"
}
# A TCP port free on 127.0.0.1 now.
free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# fetch_source OUT IMAGE LABEL CANDIDATE...: the first candidate whose source files the Debian
# mirror has, downloaded (apt-get source --download-only, deb-src made from the image's own deb
# entries, so no host is written here) into OUT/NAME; prints NAME. Fails when none could be.
fetch_source() {
  local out=$1 image=$2 label=$3
  shift 3
  mkdir -p "$out"
  docker run --rm --label "$label" -v "$out:/out" -e DEBIAN_FRONTEND=noninteractive "$image" bash -c '
    set -e
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -n "s/^deb /deb-src /p" > /etc/apt/sources.list.d/bench-src.list
    for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && sed -i "s/^Types: deb$/Types: deb deb-src/" "$f"; done
    apt-get update -q >&2
    for p in "$@"; do
      rm -rf "/out/$p"; mkdir -p "/out/$p"
      if (cd "/out/$p" && apt-get source -q --download-only "$p" >&2); then chmod -R a+rX "/out/$p"; echo "$p"; exit 0; fi
      echo "bench: the mirror lacks source files of $p; trying the next candidate" >&2
      rm -rf "/out/$p"
    done
    echo "bench: none of $* could be downloaded" >&2; exit 1
  ' fetch "$@"
}

# Source-only uploads for an archive, from a source fetch_source downloaded and unpacked once
# in DIR: per upload a new changelog entry (Distribution unstable, version .aibN: new to the
# archive) and dpkg-buildpackage -S -sa.
# ".aibN" rather than "+aibN" so that the bench also runs against archives from before the
# job API decoded percent-encoded file names ("+" travels as "%2B").
make_upload() { # dir source oldversion n -> prints the new version (logs in $work/logs)
  local dir=$1 src=$2 old=$3 n=$4 ver tree
  ver="$old.aib$n"
  tree=$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -n1)
  { printf '%s (%s) unstable; urgency=medium\n\n  * Benchmark upload (archive-in-a-box).\n\n -- archive-in-a-box bench <bench@example.org>  %s\n\n' \
      "$src" "$ver" "$(date -R)"
    cat "$tree/debian/changelog"; } >"$work/changelog.new"
  mv "$work/changelog.new" "$tree/debian/changelog"
  (cd "$tree" && dpkg-buildpackage -S -us -uc -d -nc -sa) >"$work/logs/$src-source-$n.log" 2>&1 ||
    { tail_log "$work/logs/$src-source-$n.log"; die "making the source upload of $src $ver"; }
  [ -f "$dir/${src}_${ver#*:}_source.changes" ] || die "no ${src}_${ver#*:}_source.changes"
  echo "$ver"
}

# bench_archive NAME: what a bench on an archive of its own starts with: the project set up
# when it is not; ARCHIVE_RUN_ID and LABEL (what it makes carries them); archive, the CLI on
# $root; a work folder $work (logs/, src/) holding the root; the archive initialised on a free
# port ($port). On exit the archive is stopped and its root, containers and work folder removed
# (the logs kept when it failed). The bench then edits $root/archive.yaml and calls bench_up.
bench_archive() {
  bench=$1
  export ARCHIVE_RUN_ID="bench-$bench-$$"
  LABEL="archive-in-a-box.run-id=$ARCHIVE_RUN_ID"
  archive() { node "$repo/bin/archive.js" --root "$root" "$@"; }
  if ! command -v docker >/dev/null || ! command -v dput >/dev/null || ! docker info >/dev/null 2>&1 || [ ! -f dist/cli/main.js ]; then
    say "setting up the project (scripts/setup.sh)"
    bash scripts/setup.sh >&2
  fi
  work=$(mktemp -d "/tmp/aib-bench-$bench-XXXX")
  root=$work/root
  mkdir -p "$work/logs" "$work/src"
  archive_up=0
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  port=$(free_port)
  init_root "$port"
}
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  kill $(descendants $$) 2>/dev/null || true
  if [ "$archive_up" = 1 ]; then archive down >/dev/null 2>&1 || true; fi
  remove_leftovers "$LABEL"
  [ "$rc" -eq 0 ] || keep_logs "$bench" "$root/logs/queue.log"
  rm -rf "$work"
  exit "$rc"
}
# bench_up: archive up on the bench's root; its dput configuration in $work/dput.cf.
bench_up() {
  say "archive up (root $root, port $port)"
  archive_up=1
  archive up --json >"$work/up.json" 2>"$work/logs/up.log" || { tail_log "$work/logs/up.log"; die "archive up"; }
  node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).dputConfig)' "$work/up.json" >"$work/dput.cf"
}
