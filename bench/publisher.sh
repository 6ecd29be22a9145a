#!/usr/bin/env bash
# Publisher bench: how long it takes to turn a folder of N binary packages into a signed apt
# repository, and then to add one package and publish again, for
#   - apt-ftparchive (apt-utils): `generate` with a cache db, `release`, gpg signing by hand, on
#     a pool in Debian's layout (a folder per source, as the others make), and on a flat one;
#   - reprepro: includedeb, which exports (writes and signs) the indices itself;
#   - aptly: repo create/add, publish repo, then repo add + publish update;
#   - ours (archive-in-a-box): `archive include` into a queue run on the host; see ours() below.
# all on the same synthetic .debs (bench/synthetic-debs.py, cached in /var/tmp/aib-bench-debs/N/),
# all signing with one throwaway GnuPG key, all asked for .gz and .xz Packages where they can.
# Contents indices are switched off where a tool makes them by default: ours writes none.
# by-hash is switched on where a tool can (ours always writes it; reprepro 5.3 cannot).
#
# Prints progress on stderr and the table on stdout: per N and tool, the best wall time (of
# ROUNDS rounds) of the publication from scratch and of the add-one step, and the peak RSS
# of the from-scratch step (GNU time's %M: the largest single process of the tree, not a
# sum; a gpg-agent that gpg spawns is a daemon outside the tree and is not counted). Also, as context, the time of
# xz -6, xz -1 and gzip -9 on the largest Packages file alone.
#
#   bash bench/publisher.sh                     # SIZES="1000 10000"
#   SIZES=1000 bash bench/publisher.sh
#   SIZES=100000 TOOLS="apt_ftparchive apt_ftparchive_flat reprepro_ ours" ROUNDS=1 bash bench/publisher.sh   # Debian's scale
#   BENCH_KEEP_LOGS=1 ...                       # keep every tool's log (also kept on failure)
#   TOOLS="apt_ftparchive ours" ...             # only some of the tools (keep ours: ratios are to it)
#   ROUNDS=1 ...                                # rounds of every tool (default 3; the best time counts)
#   QUEUE_NODE_FLAGS="" ...                      # ours' queue with node's own heap settings (default: its container's flags)
#   QUEUE_MALLOC="" ...                          # ours' queue with glibc's malloc settings (default: its container's MALLOC_*)
#
# Re-runnable; on exit it removes its work folder (the cached .debs stay in /var/tmp) and
# ends every process it started, gpg-agents included.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$PWD
. bench/lib.sh

SIZES=${SIZES:-"1000 10000"}
CACHE=/var/tmp/aib-bench-debs
DEBS_FORMAT=5 # bump when the generated packages change, so that old caches are made again
DIST=unstable

kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# ---------------------------------------------------------------------------------------
# Peer tools, from Debian. `time` is GNU time (bash's keyword cannot report peak RSS).
need=()
for pair in apt-ftparchive:apt-utils reprepro:reprepro aptly:aptly gpg:gnupg gpgv:gpgv \
            dpkg-deb:dpkg-deb dpkg-scanpackages:dpkg-dev xz:xz-utils /usr/bin/time:time python3:python3; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

# ---------------------------------------------------------------------------------------
# Work area and clean-up. Long-running helpers (ours' queue daemon) are started with
# start_bg, which notes their pid, so that cleanup ends them even after an interruption.
work=$(mktemp -d /tmp/aib-bench-publisher-XXXX)
chmod 711 "$work" # ours' queue runs as the queue's user (see ours below)
mkdir -p "$work/logs"
export GNUPGHOME=$work/gnupg # short path: gpg-agent's socket path must stay under 108 bytes
start_bg() { "$@" & echo "$!" >>"$work/pids"; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -f "$work/pids" ] && kill $(cat "$work/pids") 2>/dev/null || true
  kill $(descendants $$) 2>/dev/null || true
  # gpg daemonises one agent per home, which is then no child of ours: end the agent of every
  # home under the work folder (the bench key's, and any a queue made with TMPDIR there).
  # (The agent's socket may live under /run/user, so homes are found by their key folder.)
  local keys
  for keys in $(find "$work" -type d -name private-keys-v1.d 2>/dev/null); do
    gpgconf --homedir "$(dirname "$keys")" --kill all 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] || [ -n "${BENCH_KEEP_LOGS:-}" ]; then
    [ -f "$work/current-log" ] && tail_log "$(cat "$work/current-log")" 40
    keep_logs publisher
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Synthetic packages, in dpkg-deb's layout (control.tar.xz, data.tar.xz), each with a Depends
# line and a long Description so that Packages stanzas have a realistic size: written by
# bench/synthetic-debs.py, one process per core over a range each (dpkg-deb, one process per
# package, made about 25 a second here; 100,000 would have taken over an hour).
debs_for() { # n -> prints the folder
  local n=$1 dir=$CACHE/$1 t0 cores first last k
  if [ "$(cat "$dir/.complete" 2>/dev/null)" != "format=$DEBS_FORMAT n=$n" ]; then
    cores=$(nproc)
    say "making $n synthetic .debs in $dir ($cores in parallel)"
    rm -rf "$dir"; mkdir -p "$dir"
    t0=$(now)
    for k in $(seq 0 $((cores - 1))); do
      first=$((k * n / cores + 1)); last=$(((k + 1) * n / cores))
      python3 "$repo/bench/synthetic-debs.py" "$dir" "$n" "$first" "$last" &
    done
    wait
    [ "$(find "$dir" -maxdepth 1 -name '*.deb' | wc -l)" -eq "$n" ] || die "expected $n .debs in $dir"
    echo "format=$DEBS_FORMAT n=$n" >"$dir/.complete"
    say "  made in $(secs "$t0" "$(now)" 2) s"
    echo "$n $(secs "$t0" "$(now)" 2)" >>"$work/generated"
  fi
  echo "$dir"
}

# The package added to N: named to sort in the middle of theirs (synthetic-(N/2)a), so that it lands
# in a middle chunk of Packages, as an upload of any name would on average (ours copies the
# chunks before the first changed one with the file; the peers write the whole index anyway).
extra_deb() { # n -> prints the path of its .deb
  local n=$1 dir=$CACHE/extra-$1
  if [ "$(cat "$dir/.complete" 2>/dev/null)" != "format=$DEBS_FORMAT" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    python3 "$repo/bench/synthetic-debs.py" "$dir" --extra "$n"
    echo "format=$DEBS_FORMAT" >"$dir/.complete"
  fi
  find "$dir" -maxdepth 1 -name '*.deb'
}

# The .debs of a folder as a tree of hard links in Debian's pool layout, under main/:
# PREFIX/SOURCE/ (their sources are named as their packages here), PREFIX the first letter, or
# the first four for lib* (dak's). Made once per folder and run, in the work folder (the cache
# and /tmp share a file system here; else the links are copies), before any clock starts.
pool_tree_for() { # debdir -> prints the tree's folder
  local debs=$1 tree=$work/trees/${1##*/}
  if [ ! -d "$tree" ]; then
    mkdir -p "$tree.part"
    # (A process per file would take minutes at 100,000.)
    python3 - "$debs" "$tree.part" <<'PY'
import os, shutil, sys
debs, tree = sys.argv[1:]
for name in os.listdir(debs):
    if not name.endswith(".deb"):
        continue
    pkg = name.split("_")[0]
    folder = os.path.join(tree, pkg[:4] if pkg.startswith("lib") and len(pkg) > 3 else pkg[:1], pkg)
    os.makedirs(folder, exist_ok=True)
    try:
        os.link(os.path.join(debs, name), os.path.join(folder, name))
    except OSError:
        shutil.copyfile(os.path.join(debs, name), os.path.join(folder, name))
PY
    mv "$tree.part" "$tree"
  fi
  echo "$tree"
}

# ---------------------------------------------------------------------------------------
# One signing key for every tool: RSA 3072 without a passphrase, as `archive init` makes.
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-generate-key 'publisher bench <bench@example.org>' rsa3072 sign never 2>/dev/null
KEY=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
[ -n "$KEY" ] || die "no signing key was made"
gpg --batch --export "$KEY" >"$work/pubkey.gpg"
# Starts the agent now, so that no tool's first signature pays for it.
echo warm | gpg --batch --quiet --local-user "$KEY" --clearsign >/dev/null

# ---------------------------------------------------------------------------------------
# What every tool must have made after the add-one step: N+1 stanzas in binary-amd64's
# Packages (arch all included there), an InRelease whose signature verifies, Release.gpg.
# Read from Packages.gz, which every tool writes (ours publishes a large index compressed only).
check_published() { # suitedir expected_count tool
  local suite=$1 want=$2 tool=$3 got
  got=$(gzip -dc "$suite/main/binary-amd64/Packages.gz" | grep -c '^Package:') || true
  [ "$got" = "$want" ] || die "$tool: $got packages in $suite/main/binary-amd64/Packages.gz, expected $want"
  gpgv --keyring "$work/pubkey.gpg" "$suite/InRelease" >/dev/null 2>&1 || die "$tool: $suite/InRelease does not verify"
  [ -f "$suite/Release.gpg" ] || say "  note: $tool wrote no Release.gpg"
}

compressions() { # binary-amd64 folder -> e.g. "plain,gz,xz"
  local dir=$1 out=() ext
  [ -f "$dir/Packages" ] && out+=(plain)
  for ext in gz bz2 xz zst lz4; do [ -f "$dir/Packages.$ext" ] && out+=("$ext"); done
  (IFS=,; echo "${out[*]}")
}

# Runs a command line under GNU time: its wall seconds and peak RSS (KiB) into two files.
measured() { # wallfile rssfile command...
  local wall=$1 rss=$2 t0; shift 2
  # Every step starts with the disk quiet: what the step before wrote (10,000 .debs copied, a
  # pool, indices) is not still being written back while it runs, as a later upload finds it.
  sync
  t0=$(now)
  /usr/bin/time -f %M -o "$rss" "$@"
  secs "$t0" "$(now)" 2 >"$wall"
}

# ---------------------------------------------------------------------------------------
# The tools. Each: TOOL n debdir extradeb workdir; prints "scratch_s add_one_s peak_rss_mib"
# on stdout, logs to workdir/log, writes the suite folder it published to workdir/published.

# apt-ftparchive: the pool is the input, so copying the .debs into it is part of the time
# (the other tools copy them into their pools too). The cache db makes the second run read
# only the new .deb. Two layouts of its pool:
#   - apt-ftparchive: Debian's, as reprepro, aptly and ours make theirs (pool/main/s/SOURCE/,
#     a folder per source, as dak lays it out), copied with one `cp -r` from a tree of links to
#     the .debs made before the clock starts (pool_tree_for);
#   - apt-ftparchive-flat: every .deb in pool/main/ itself, no folder made (the only layout this
#     bench gave it until 2026-12-05). On a disk where a folder costs ten times a file, the
#     1,000 folders the others make are a good part of a publication of 1,000.
aftp_publish() { # wd
  local wd=$1 s=$1/dists/$DIST
  apt-ftparchive -q -o APT::FTPArchive::Contents=false generate "$wd/generate.conf"
  # The old Release files would be hashed into the new one: a real script removes them too.
  rm -f "$s/Release" "$s/InRelease" "$s/Release.gpg"
  apt-ftparchive -o APT::FTPArchive::DoByHash=true \
    -o APT::FTPArchive::Release::Origin=bench -o APT::FTPArchive::Release::Suite=$DIST \
    -o APT::FTPArchive::Release::Codename=$DIST -o APT::FTPArchive::Release::Architectures=amd64 \
    -o APT::FTPArchive::Release::Components=main release "$s" >"$wd/Release.new"
  mv "$wd/Release.new" "$s/Release"
  gpg --batch --yes --quiet --local-user "$KEY" --digest-algo SHA512 --clearsign -o "$s/InRelease" "$s/Release"
  gpg --batch --yes --quiet --local-user "$KEY" --digest-algo SHA512 --detach-sign --armor -o "$s/Release.gpg" "$s/Release"
}
# Each copies the .debs into the pool, in the layout of what it is given: a folder of .debs
# (flat), or a tree in Debian's layout (pool_tree_for) copied as it is.
aftp_scratch() { # wd debdir-or-tree layout
  if [ "$3" = flat ]; then
    find "$2" -maxdepth 1 -name '*.deb' -print0 | xargs -0 cp -t "$1/pool/main/" # 100,000 names pass ARG_MAX
  else
    cp -r "$2/." "$1/pool/main/"
  fi
  aftp_publish "$1"
}
aftp_add() { # wd extradeb-or-its-tree layout
  if [ "$3" = flat ]; then cp "$2" "$1/pool/main/"; else cp -r "$2/." "$1/pool/main/"; fi
  aftp_publish "$1"
}
export -f aftp_publish aftp_scratch aftp_add
export DIST KEY

aftp() { # layout n debdir extradeb workdir
  local layout=$1 n=$2 debs=$3 extra=$4 wd=$5 from=$3 more=$4
  if [ "$layout" != flat ]; then
    from=$(pool_tree_for "$debs"); more=$(pool_tree_for "$(dirname "$extra")")
    find "$from" "$more" >/dev/null # its folders read now, as the .debs were before each tool
  fi
  mkdir -p "$wd/pool/main" "$wd/dists/$DIST/main/binary-amd64" "$wd/cache"
  cat >"$wd/generate.conf" <<EOF
Dir { ArchiveDir "$wd"; CacheDir "$wd/cache"; };
Default { Packages::Compress ". gzip xz"; FileMode 0644; };
TreeDefault {
  Directory "pool/\$(SECTION)";
  Packages "\$(DIST)/\$(SECTION)/binary-\$(ARCH)/Packages";
  BinCacheDB "packages-\$(SECTION)-\$(ARCH).db";
};
Tree "dists/$DIST" { Sections "main"; Architectures "amd64"; };
EOF
  (cd "$wd" && measured "$wd/scratch.s" "$wd/scratch.rss" bash -c 'aftp_scratch "$@"' _ "$wd" "$from" "$layout") >>"$wd/log" 2>&1
  (cd "$wd" && measured "$wd/add.s" "$wd/add.rss" bash -c 'aftp_add "$@"' _ "$wd" "$more" "$layout") >>"$wd/log" 2>&1
  echo "$wd/dists/$DIST" >"$wd/published"
  echo "$(cat "$wd/scratch.s") $(cat "$wd/add.s") $(kib_to_mib "$(cat "$wd/scratch.rss")")"
}
apt_ftparchive() { aftp tree "$@"; }
apt_ftparchive_flat() { aftp flat "$@"; }

# reprepro: one includedeb for all N would do, but a long list may pass ARG_MAX, so xargs
# calls it in chunks without exporting, and one export at the end writes and signs the
# indices once, as a single call would.
reprepro_scratch() { # wd debdir
  (cd "$2" && find . -maxdepth 1 -name '*.deb' -print0 | sort -z |
     xargs -0 reprepro -b "$1" --export=never includedeb "$DIST")
  reprepro -b "$1" export "$DIST"
}
export -f reprepro_scratch

reprepro_() {
  local n=$1 debs=$2 extra=$3 wd=$4
  mkdir -p "$wd/conf"
  cat >"$wd/conf/distributions" <<EOF
Origin: bench
Codename: $DIST
Suite: $DIST
Architectures: amd64
Components: main
DebIndices: Packages Release . .gz .xz
SignWith: $KEY
EOF
  measured "$wd/scratch.s" "$wd/scratch.rss" bash -c 'reprepro_scratch "$@"' _ "$wd" "$debs" >>"$wd/log" 2>&1
  measured "$wd/add.s" "$wd/add.rss" reprepro -b "$wd" includedeb "$DIST" "$extra" >>"$wd/log" 2>&1
  echo "$wd/dists/$DIST" >"$wd/published"
  echo "$(cat "$wd/scratch.s") $(cat "$wd/add.s") $(kib_to_mib "$(cat "$wd/scratch.rss")")"
}

# aptly 1.5: gpgProvider "gpg2" runs the gpg on PATH with $GNUPGHOME (gnupg 2's keybox; the
# -keyring/-secret-keyring options are for gpg1 or the internal provider's old-format
# keyrings). No .xz in aptly: it writes .gz and .bz2.
aptly_scratch() { # wd debdir
  local c=(-config="$1/aptly.conf")
  aptly "${c[@]}" repo create -distribution="$DIST" -component=main bench
  aptly "${c[@]}" repo add bench "$2"
  aptly "${c[@]}" publish repo -batch -gpg-key="$KEY" -skip-contents -acquire-by-hash \
    -architectures=amd64 -distribution="$DIST" -origin=bench bench
}
aptly_add() { # wd extradeb
  local c=(-config="$1/aptly.conf")
  aptly "${c[@]}" repo add bench "$2"
  aptly "${c[@]}" publish update -batch -gpg-key="$KEY" -skip-contents "$DIST"
}
export -f aptly_scratch aptly_add

aptly_() {
  local n=$1 debs=$2 extra=$3 wd=$4
  cat >"$wd/aptly.conf" <<EOF
{ "rootDir": "$wd/aptly", "architectures": ["amd64"], "gpgProvider": "gpg2",
  "gpgDisableVerify": true, "skipContentsPublishing": true }
EOF
  measured "$wd/scratch.s" "$wd/scratch.rss" bash -c 'aptly_scratch "$@"' _ "$wd" "$debs" >>"$wd/log" 2>&1
  measured "$wd/add.s" "$wd/add.rss" bash -c 'aptly_add "$@"' _ "$wd" "$extra" >>"$wd/log" 2>&1
  echo "$wd/aptly/public/dists/$DIST" >"$wd/published"
  echo "$(cat "$wd/scratch.s") $(cat "$wd/add.s") $(kib_to_mib "$(cat "$wd/scratch.rss")")"
}

# ---------------------------------------------------------------------------------------
# The queue's node flags and malloc settings, as its container runs it (compose/compose.yaml):
# the command's words before main.js, and its MALLOC_* variables. QUEUE_NODE_FLAGS="" runs it
# with node's defaults, QUEUE_MALLOC="" with glibc's.
{ read -r compose_flags; read -r compose_malloc; } < <(node -e '
  const { command, environment } = require("yaml").parse(require("fs").readFileSync("compose/compose.yaml", "utf8")).services.queue;
  console.log(command.slice(1, command.findIndex((a) => a.endsWith("/main.js"))).join(" "));
  console.log(Object.entries(environment).filter(([k]) => k.startsWith("MALLOC_")).map(([k, v]) => `${k}=${v}`).join(" "))')
read -r -a QUEUE_NODE_FLAGS <<<"${QUEUE_NODE_FLAGS-$compose_flags}"
read -r -a QUEUE_MALLOC <<<"${QUEUE_MALLOC-$compose_malloc}"

# ours: archive-in-a-box, run on the host: the queue daemon on a root of its own (as in its
# container), the .debs imported with `archive include`, which returns once the queue has
# published (so the include alone is timed, node's start-up included). It signs with the
# bench key like the peers. Its queue keeps the suites' members in memory: peak RSS is the
# larger of the include command's and the queue's own (VmHWM, its xz and gpg children apart).
# Large indices are compressed with xz -0 in threads (small ones with xz -6): see the context
# line under the table for what that saves against xz -6. Indices are compressed in chunks
# kept between publications, so the add-one publish compresses one chunk of Packages.
ours() {
  local n=$1 debs=$2 extra=$3 wd=$4 root=$4/root port qpid i rss
  local cli=(node "$repo/bin/archive.js" --root "$root")
  port=$(free_port)
  "${cli[@]}" init >>"$wd/log" 2>&1
  gpg --batch --armor --export-secret-keys "$KEY" >"$root/state/archive-key.sec"
  gpg --batch --armor --export "$KEY" >"$root/public/archive-key.asc"
  # The queue's GnuPG home goes under TMPDIR: in the work folder, cleanup ends its agent.
  mkdir -p "$wd/tmp"
  # The queue runs as the root's owner, as in its container: init run by root gives the root to
  # the queue's user, and root's CLI refuses what that user does not own.
  local owner as_owner=()
  owner=$(stat -c %u:%g "$root")
  if [ "$(id -u)" = 0 ] && [ "$owner" != 0:0 ]; then
    chown "$owner" "$root/state/archive-key.sec" "$root/public/archive-key.asc" "$wd/tmp"
    as_owner=(setpriv --reuid="${owner%:*}" --regid="${owner#*:}" --clear-groups)
  fi
  TMPDIR=$wd/tmp ARCHIVE_ROOT=$root ARCHIVE_API_PORT=$port start_bg "${as_owner[@]}" env "${QUEUE_MALLOC[@]}" node "${QUEUE_NODE_FLAGS[@]}" "$repo/bin/archive.js" daemon queue >>"$wd/log" 2>&1
  qpid=$(tail -n1 "$work/pids")
  for i in $(seq 1 100); do grep -q 'queue started' "$wd/log" && break; sleep 0.2; done
  grep -q 'queue started' "$wd/log" || die "ours: the queue did not start"
  # The folder: its 100,000 paths would pass ARG_MAX (and xargs would split the include).
  measured "$wd/scratch.s" "$wd/scratch.rss" "${cli[@]}" include --suite "$DIST" "$debs" >>"$wd/log" 2>&1
  measured "$wd/add.s" "$wd/add.rss" "${cli[@]}" include --suite "$DIST" "$extra" >>"$wd/log" 2>&1
  rss=$(awk '/VmHWM/ { print $2 }' "/proc/$qpid/status")
  [ "$(cat "$wd/scratch.rss")" -gt "$rss" ] && rss=$(cat "$wd/scratch.rss")
  grep -E 'published generation .* \(include\)' "$wd/log" | sed 's/^/  queue: /' >&2 || true
  kill "$qpid"; wait "$qpid" 2>/dev/null || true
  echo "$root/public/dists/$DIST" >"$wd/published"
  echo "$(cat "$wd/scratch.s") $(cat "$wd/add.s") $(kib_to_mib "$rss")"
}
# ========================================================================================

# ---------------------------------------------------------------------------------------
TOOLS=${TOOLS:-"apt_ftparchive apt_ftparchive_flat reprepro_ aptly_ ours"} # a subset for a quick look: TOOLS="apt_ftparchive ours"
ROUNDS=${ROUNDS:-3}
least() { if [ -z "$1" ]; then echo "$2"; elif [ "$2" = n/a ]; then echo "$1"; else awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 < a + 0) ? b : a }'; fi; }
most() { if [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 > a + 0) ? b : a }'; fi; }
tool_name() { case $1 in apt_ftparchive) echo apt-ftparchive ;; apt_ftparchive_flat) echo apt-ftparchive-flat ;; reprepro_) echo reprepro ;; aptly_) echo aptly ;; *) echo "$1" ;; esac; }

largest=$(printf '%s\n' $SIZES | sort -n | tail -n1)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -a rows=() ratios=()
for n in $SIZES; do
  debs=$(debs_for "$n")
  extra=$(extra_deb "$n")
  declare -A add=() scr=() mem=() comps=()
  # Rounds, each running every tool in turn, so that a slow spell of the machine falls on
  # all of them; each tool's best time of the rounds is reported (and its largest RSS).
  for round in $(seq 1 "$ROUNDS"); do
  for tool in $TOOLS; do
    name=$(tool_name "$tool")
    wd=$work/$name-$n
    mkdir -p "$wd"
    # Every tool reads the .debs from the page cache: read just before each, since the kernel
    # of a VM may drop what was idle for a minute (as here, where a tool can run for one).
    find "$debs" -maxdepth 1 -name '*.deb' -print0 | xargs -0 cat "$extra" >/dev/null
    echo "$wd/log" >"$work/current-log"
    say "== N=$n: $name (round $round of $ROUNDS)"
    res=$("$tool" "$n" "$debs" "$extra" "$wd") # (a failure must stop the run: not inside <<<)
    read -r scratch addone rss <<<"$res"
    comp=n/a
    if [ "$scratch" != n/a ]; then
      suite=$(cat "$wd/published")
      check_published "$suite" $((n + 1)) "$name"
      comp=$(compressions "$suite/main/binary-amd64")
      byhash=no; [ -d "$suite/main/binary-amd64/by-hash" ] && byhash=yes
      say "  scratch $scratch s, add one $addone s, peak RSS $rss MiB; Packages: $comp; by-hash: $byhash"
      # Context below: the plain Packages of the largest set, as apt-ftparchive wrote it.
      [ "$tool" = apt_ftparchive ] && [ "$n" = "$largest" ] && cp "$suite/main/binary-amd64/Packages" "$work/Packages"
    fi
    cp "$wd/log" "$work/logs/$name-$n-$round.log" 2>/dev/null || true
    rm -rf "$wd" # a 10k-package pool per tool adds up
    # Committed now, so that the next tool's first writes do not also wait for the freeing (on
    # a file system mounted with discard, the trimming) of this one's 10,000 files.
    sync
    add[$tool]=$(least "${add[$tool]:-}" "$addone")
    scr[$tool]=$(least "${scr[$tool]:-}" "$scratch")
    mem[$tool]=$(most "${mem[$tool]:-}" "$rss")
    comps[$tool]=$comp
  done
  done
  for tool in $TOOLS; do
    rows+=("$(printf '%7s  %-19s %10s %10s %14s  %s' "$n" "$(tool_name "$tool")" "${scr[$tool]}" "${add[$tool]}" "${mem[$tool]}" "${comps[$tool]}")")
  done
  for tool in $TOOLS; do
    [ "$tool" = ours ] && continue
    ratios+=("$(printf '%7s  %-19s %10s %10s' "$n" "$(tool_name "$tool")" "$(ratio "${scr[$tool]}" "${scr[ours]}")" "$(ratio "${add[$tool]}" "${add[ours]}")")")
  done
  unset add scr mem comps
done
rm -f "$work/current-log"

# Compression of the largest Packages alone, for scale: what any publisher pays at least.
ctx=""
if [ -f "$work/Packages" ]; then
  c() { local t0; t0=$(now); "$@" <"$work/Packages" >/dev/null; secs "$t0" "$(now)" 2; }
  ctx=$(printf 'Packages for N=%s: %s MiB uncompressed; xz -6: %s s, xz -1: %s s, gzip -9: %s s (single-threaded); xz -0 -T0 (what ours uses for large indices): %s s' \
    "$largest" "$(awk -v b="$(stat -c %s "$work/Packages")" 'BEGIN { printf "%.1f", b / 1048576 }')" \
    "$(c xz -6 -T1 -c)" "$(c xz -1 -T1 -c)" "$(c gzip -9 -c)" "$(c xz -0 -T0 -c)")
fi

queue_flags=${QUEUE_NODE_FLAGS[*]:-"(node's defaults)"}
queue_malloc=${QUEUE_MALLOC[*]:-"glibc's defaults"}
ver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
cat <<REPORT

archive-in-a-box publisher bench ($(nproc) cores, $(date -u +%F); load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)
apt-ftparchive $(ver apt-utils), reprepro $(ver reprepro), aptly $(ver aptly), gnupg $(ver gnupg); one RSA 3072 key, InRelease + Release.gpg
ours: the queue run with node $queue_flags ($queue_malloc)
times: the best of $ROUNDS rounds, each running every tool in turn; peak RSS: the largest of them
scratch = publish N packages into an empty repository; add one = then add one package and publish again;
peak RSS = of the scratch step (largest single process); compressions = Packages files in binary-amd64
$(printf '%7s  %-19s %10s %10s %14s  %s' N tool "scratch s" "add-one s" "peak RSS MiB" compressions)
$(printf '%s\n' "${rows[@]}")

time, peer / ours (above 1: ours is faster):
$(printf '%7s  %-19s %10s %10s' N peer scratch add-one)
$(printf '%s\n' "${ratios[@]}")

$ctx
REPORT
if [ -f "$work/generated" ]; then
  echo "(synthetic .debs made this run: $(awk '{ printf "%sN=%s in %s s", s, $1, $2; s = ", " }' "$work/generated"))"
fi
echo "(aptly writes no .xz: .gz and .bz2 only; reprepro $(ver reprepro) writes no by-hash; Contents off everywhere)"
exit 0
