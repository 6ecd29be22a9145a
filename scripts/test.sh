#!/usr/bin/env bash
# Runs every test: unit (pure code on fixtures) and end-to-end (the real Docker engine,
# debootstrap, gpg, dput and apt). Installs and starts what they need first.
set -euo pipefail
cd "$(dirname "$0")/.."
# The architectures the multi-arch tests build for, besides this machine's own.
export ARCHIVE_ARCHITECTURES="${ARCHIVE_ARCHITECTURES:-i386 arm64 armhf}"
bash scripts/setup.sh
export ARCHIVE_RUN_ID="${ARCHIVE_RUN_ID:-test-$(date +%s)-$$}"
mkdir -p test-artifacts
echo "==> type-checking sources and tests"
npx tsc -p tsconfig.test.json --noEmit
echo "==> running tests (run id $ARCHIVE_RUN_ID)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@" || status=$?
# The closing line CI reads.
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-artifacts/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit "$status"
