// Child process of the hostile sweep: runs the cases whose indices are given on
// the command line, one after the other, printing a line before each ("start")
// and one after ("done", with its outcome), so the parent can name the case a
// crash or a hang happened in.
import { cases, runCase } from './sweep';

const all = cases();
const timeoutMs = Number(process.env.FRUGAL_SWEEP_TIMEOUT_MS ?? 10_000);

(async () => {
  for (const arg of process.argv.slice(2)) {
    const i = Number(arg);
    process.stdout.write(`${JSON.stringify({ start: i })}\n`);
    const r = await runCase(all[i], timeoutMs);
    process.stdout.write(`${JSON.stringify({ done: i, ...r })}\n`);
  }
})();
