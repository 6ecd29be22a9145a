#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=50
// Entry point for `npx archive`: runs the compiled CLI (npm's `prepare` compiles it). Node's heap
// kept small, as the queue's is (compose/compose.yaml): `archive include` of 100,000 packages holds
// about 20 MiB of names and copies them one by one, and with node's own semi-spaces of 16 MiB and
// an old generation let grow to four times what it holds, it peaked at 181-185 MiB (158 with these).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('archive: the program is not compiled yet; run `npm ci` (or `npm run build`) in the checkout');
    process.exit(70);
  }
  throw err;
});
