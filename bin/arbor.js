#!/usr/bin/env node
// The arbor CLI from a checkout: run `npm ci && npm run build` first.
require('../dist/src/cli/main.js').main(process.argv.slice(2));
