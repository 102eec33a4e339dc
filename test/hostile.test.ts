// The hostile sweep's fast form: every case of test/hostile/sweep.ts (each export,
// sync and async, each argument and option, each hostile value of its kind),
// batched per export in child processes. `node scripts/hostile-sweep.js` runs the
// same cases each in a process of its own.
import test from 'ava';
import { runSweep, tally } from './hostile/runner';

test('every hostile argument ends in a FrugalError: no crash, hang, other error or silent acceptance', (t) => {
  const results = runSweep(false);
  const { counts, failures } = tally(results);
  t.log(`${results.length} cases: ${JSON.stringify(counts)}`);
  t.true(results.length > 1000, `only ${results.length} cases`);
  t.deepEqual(failures.map((f) => `${f.id}: ${f.outcome} (${f.detail})`), []);
});
