#!/usr/bin/env node
// The full hostile sweep: every case of test/hostile/sweep.ts in a process of its
// own; prints the tally and every case that did not end in a FrugalError.
// Build first (npm run build:ts). Exit status 1 when any case failed.
//   node scripts/hostile-sweep.js [--batched]
const path = require('node:path');
const { runSweep, tally } = require(path.join(__dirname, '..', 'dist', 'test', 'hostile', 'runner.js'));

const start = Date.now();
const results = runSweep(!process.argv.includes('--batched'));
const { counts, failures } = tally(results);
console.log(`${results.length} cases in ${((Date.now() - start) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}`);
for (const f of failures) console.log(`  ${f.outcome}: ${f.id} (${f.detail})`);
process.exit(failures.length === 0 ? 0 : 1);
