// Parent side of the hostile sweep: runs cases in child processes and tallies
// their outcomes. A child that dies or stops answering marks its case in flight
// as a crash or a hang; the cases after it run in a fresh child.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cases, type Outcome } from './sweep';

const CHILD = path.join(__dirname, 'child.js');

/** One finished case. */
export interface Result {
  id: string;
  outcome: Outcome;
  detail: string;
}

// Runs `indices` in one child, retrying the rest in a new child after a crash or hang.
function runGroup(indices: number[], timeoutMs: number, out: Result[]): void {
  const ids = cases().map((c) => c.id);
  let todo = indices;
  while (todo.length > 0) {
    const r = spawnSync(process.execPath, [CHILD, ...todo.map(String)], {
      encoding: 'utf8',
      timeout: timeoutMs * (todo.length + 2),
      env: { ...process.env, FRUGAL_SWEEP_TIMEOUT_MS: String(timeoutMs) },
      maxBuffer: 64 << 20,
    });
    const finished = new Set<number>();
    let inFlight: number | undefined;
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const m = JSON.parse(line) as { start?: number; done?: number; outcome?: Outcome; detail?: string };
      if (m.start !== undefined) inFlight = m.start;
      if (m.done !== undefined) {
        finished.add(m.done);
        out.push({ id: ids[m.done], outcome: m.outcome!, detail: m.detail! });
        inFlight = undefined;
      }
    }
    if (finished.size === todo.length) return;
    // The child died or was killed with a case in flight.
    const culprit = inFlight ?? todo.find((i) => !finished.has(i))!;
    const hung = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    out.push({ id: ids[culprit], outcome: hung ? 'hang' : 'crash', detail: hung ? 'the child stopped answering' : `exit ${r.status} signal ${r.signal}: ${r.stderr.slice(-300)}` });
    finished.add(culprit);
    todo = todo.filter((i) => !finished.has(i));
  }
}

/**
 * Runs every case: batched by export (`perCase` false: one child per export, the
 * fast form of npm test) or each in a child of its own (the full sweep).
 */
export function runSweep(perCase: boolean, timeoutMs = 10_000): Result[] {
  const all = cases();
  const groups = new Map<string, number[]>();
  all.forEach((c, i) => {
    const key = perCase ? String(i) : `${c.entry}${c.async ? ' async' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const out: Result[] = [];
  for (const indices of groups.values()) runGroup(indices, timeoutMs, out);
  return out;
}

/** The outcomes counted, and the cases that did not end in a FrugalError. */
export function tally(results: Result[]): { counts: Record<Outcome, number>; failures: Result[] } {
  const counts: Record<Outcome, number> = { FrugalError: 0, 'other error': 0, accepted: 0, hang: 0, crash: 0 };
  for (const r of results) counts[r.outcome]++;
  return { counts, failures: results.filter((r) => r.outcome !== 'FrugalError') };
}
