#!/usr/bin/env node
// Entry point for `npx archive`: runs the compiled CLI (npm's `prepare` compiles it).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('archive: the program is not compiled yet; run `npm ci` (or `npm run build`) in the checkout');
    process.exit(70);
  }
  throw err;
});
