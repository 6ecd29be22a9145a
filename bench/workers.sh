#!/usr/bin/env bash
# Workers bench: the load bench's burst of COUNT uploads (default 12) on a real Docker Swarm of
# 1, 2 and 3 worker nodes (Docker-in-Docker nodes on this machine, as test/swarm.e2e.test.ts
# makes them), `archive up --swarm` on a manager node, one build at a time per node. Prints
# uploads a minute for each, the speed-up against one node, each node's build slot busy
# fraction, and where an upload's time goes (the queue's intake, waiting for a worker,
# building, publishing). The peer is the same archive with one node, measured in the same run.
# On a 2-core machine every node shares those cores: more nodes cannot build faster here, and
# the figures say how far the queue and the publisher stay out of the way.
#
#   bash bench/workers.sh            # 12 uploads; 1, 2 and 3 nodes
#   bash bench/workers.sh 24 1 3
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
COUNT=${1:-12}
shift || true
[[ "$COUNT" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bash bench/workers.sh [COUNT] [NODES...]" >&2; exit 2; }

if ! command -v docker >/dev/null || ! command -v dput >/dev/null || ! docker info >/dev/null 2>&1 || [ ! -f dist/cli/main.js ]; then
  say "setting up the project (scripts/setup.sh)"
  bash scripts/setup.sh >&2
fi
# The images every node's manager starts from, made once by archive up on a scratch root.
if ! docker image inspect archive/tool:latest archive/repo:trixie archive/buildenv:trixie-amd64 >/dev/null 2>&1; then
  scratch=$(mktemp -d /tmp/aib-bench-workers-images-XXXX)
  say "making the images (archive up on $scratch)"
  node bin/archive.js --root "$scratch" init --port "$(free_port)" >/dev/null
  node bin/archive.js --root "$scratch" up >/dev/null
  node bin/archive.js --root "$scratch" down >/dev/null
  rm -rf "$scratch"
fi
node bench/workers.mjs "$COUNT" "$@"
