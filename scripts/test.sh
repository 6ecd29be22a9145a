#!/usr/bin/env bash
# Runs every test: unit (pure code on fixtures) and end-to-end (the real Docker engine,
# debootstrap, gpg, dput, apt and qemu). Installs and starts what they need first.
#
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh test/foo.e2e.test.ts # what vitest is given, in one run
set -euo pipefail
cd "$(dirname "$0")/.."
# The architectures the multi-arch tests build for, besides this machine's own.
export ARCHIVE_ARCHITECTURES="${ARCHIVE_ARCHITECTURES:-i386 arm64 armhf}"
bash scripts/setup.sh
export ARCHIVE_RUN_ID="${ARCHIVE_RUN_ID:-test-$(date +%s)-$$}"
mkdir -p test-artifacts
rm -f test-artifacts/vitest*.json
echo "==> type-checking sources and tests"
npx tsc -p tsconfig.test.json --noEmit
status=0
reporters=(--reporter=default --reporter=json)
if [ "$#" -gt 0 ]; then
  echo "==> running tests (run id $ARCHIVE_RUN_ID)"
  npx vitest run "${reporters[@]}" --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
else
  # Two lanes on the two cores. The multi-arch suite spends most of its time in qemu on one core
  # (debootstrap and builds of other architectures), the QA and reproducible suites wait on
  # checks and rebuilds that run after builds, and the builder suite after them: they run beside
  # the others, one after the other, with a run id of their own (the others remove what their run
  # id labels). In a clean-clone run of 2026-12-02 the lanes took 31.0 and 24.9 min (faults
  # about 4 more); earlier runs took 48.4 and 45.2 (55.4 in all) while every container's
  # healthcheck ran every second (an exec through the engine each: half a core per idle archive)
  # and the tests polled the CLI every half second. On a machine that never ran the project, with
  # the images and the multi-arch build environments to make, it took 50 min (benches running
  # beside it). The images all use are made once first, by archive up on a scratch root, so that
  # the two runs do not make them twice at once.
  echo "==> making the images (archive up on a scratch root)"
  scratch=$(mktemp -d /tmp/aib-test-images-XXXX)
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  ARCHIVE_RUN_ID="$ARCHIVE_RUN_ID-images" node bin/archive.js --root "$scratch" up --port "$port" >/dev/null || status=$?
  node bin/archive.js --root "$scratch" down >/dev/null || true
  rm -rf "$scratch"
  side=(test/multiarch.e2e.test.ts test/qa.e2e.test.ts test/reproducible.e2e.test.ts test/builder.e2e.test.ts)
  echo "==> running tests (run id $ARCHIVE_RUN_ID; ${side[*]} beside them, their output at the end)"
  # Niced: their debootstraps under qemu (processes of their archive up) yield to the timed suites.
  ARCHIVE_RUN_ID="$ARCHIVE_RUN_ID-side" nice -n 10 npx vitest run "${reporters[@]}" --outputFile.json=test-artifacts/vitest-side.json \
    "${side[@]}" >test-artifacts/side.log 2>&1 &
  beside=$!
  # The fault suite restarts dockerd, which would cut the side suites' image builds: it runs last, alone.
  npx vitest run "${reporters[@]}" --outputFile.json=test-artifacts/vitest.json \
    "${side[@]/#/--exclude=}" --exclude test/faults.e2e.test.ts || status=$?
  wait "$beside" || status=$?
  echo "==> ${side[*]}"
  cat test-artifacts/side.log
  echo "==> the fault suite (it restarts dockerd)"
  npx vitest run "${reporters[@]}" --outputFile.json=test-artifacts/vitest-faults.json test/faults.e2e.test.ts || status=$?
fi
# The closing line CI reads: every run's counts together.
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of fs.readdirSync("test-artifacts").filter((n) => /^vitest.*\.json$/.test(n))) {
    const r = JSON.parse(fs.readFileSync(`test-artifacts/${f}`, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit "$status"
