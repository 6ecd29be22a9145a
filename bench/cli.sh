#!/usr/bin/env bash
# CLI bench: what a command costs from the shell, each the median of RUNS runs (wall and CPU),
# against a peer measured in the same run:
#   - `archive --version` (what every command pays before it starts) against `node -e 0`, a bare
#     start of the same node;
#   - `archive status` on a running archive holding UPLOADS prebuilt packages, against `docker
#     ps` (the engine's own client listing the same containers; status also reads every upload
#     and job from the root);
#   - `archive include` of one .deb into that archive (answered once the queue has published it)
#     against `node -e 0`: its fixed cost; bench/publisher.sh compares include with the
#     publishers at 1,000, 10,000 and 100,000 packages.
#
#   bash bench/cli.sh              # RUNS=10 UPLOADS=20
#
# Re-runnable; on exit it stops its archive and removes its root, containers and work folder.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$PWD
. bench/lib.sh

RUNS=${RUNS:-10}
UPLOADS=${UPLOADS:-20}

bench_archive cli
qa_off "$root/archive.yaml"
rebuilds_off "$root/archive.yaml"
bench_up

# A .deb per include: NAME VERSION -> its path.
make_deb() {
  local tree=$work/debs/$1
  mkdir -p "$tree/DEBIAN" "$tree/usr/share/doc/$1"
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: bench <bench@example.org>\nDescription: a package of the CLI bench\n' "$1" "$2" >"$tree/DEBIAN/control"
  echo "$1" >"$tree/usr/share/doc/$1/README"
  dpkg-deb --root-owner-group -Zxz --build "$tree" "$work/debs/$1_$2_all.deb" >/dev/null
  echo "$work/debs/$1_$2_all.deb"
}
say "including $UPLOADS packages (what status lists)"
debs=()
for i in $(seq 1 "$UPLOADS"); do debs+=("$(make_deb "cli-held-$i" 1.0)"); done
archive include --suite unstable "${debs[@]}" >/dev/null

# medians FILE: the median wall and CPU seconds of the runs GNU time wrote into FILE.
medians() {
  echo "$(awk '{ print $1 }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
    "$(awk '{ print $2 + $3 }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
}
# timed NAME COMMAND...: RUNS runs of the command; prints its median wall and CPU seconds.
timed() {
  local name=$1 i
  shift
  for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e %U %S' -a -o "$work/$name.times" "$@" >/dev/null 2>>"$work/logs/$name.log" || die "$name: $* failed (see $work/logs/$name.log)"
  done
  medians "$work/$name.times"
}

say "timing (each command $RUNS times)"
read -r node_w node_c < <(timed node node -e 0)
read -r version_w version_c < <(timed version node "$repo/bin/archive.js" --version)
read -r ps_w ps_c < <(timed docker-ps docker ps --filter "label=$LABEL")
read -r status_w status_c < <(timed status node "$repo/bin/archive.js" --root "$root" status)
# A new package each time, made before the clock starts.
for i in $(seq 1 "$RUNS"); do
  deb=$(make_deb cli-one "1.0.$i")
  /usr/bin/time -f '%e %U %S' -a -o "$work/include.times" node "$repo/bin/archive.js" --root "$root" include --suite unstable "$deb" >/dev/null 2>>"$work/logs/include.log" ||
    die "include of $deb failed (see $work/logs/include.log)"
done
read -r include_w include_c < <(medians "$work/include.times")

cat <<EOF

CLI bench ($(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the end; medians of $RUNS runs; status on an archive holding $UPLOADS packages)

| command | wall s | CPU s | peer | peer wall s | wall against the peer |
| --- | --- | --- | --- | --- | --- |
| archive --version | $version_w | $version_c | node -e 0 | $node_w | $(ratio "$version_w" "$node_w")x |
| archive status | $status_w | $status_c | docker ps | $ps_w | $(ratio "$status_w" "$ps_w")x |
| archive include (one .deb, until published) | $include_w | $include_c | node -e 0 | $node_w | $(ratio "$include_w" "$node_w")x |
EOF
