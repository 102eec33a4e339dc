// The `frugal` command: info, bench and run.
import { parseArgs } from 'node:util';
import { FrugalError } from './errors';
import { info } from './core';
import { progressLine } from './progress';
import { writeFileAtomic } from './atomic_write';
import { benchReportText, type BenchReport } from './jobs/bench';
import { jobTypes } from './jobs/registry';
import { loadJob, runJob, validateJob, type ValidJob } from './jobs/runner';

const USAGE = `usage:
  frugal info                      build, ISA level, threads and CUDA devices
  frugal bench [options]           run the benchmarks (CPU by default)
      --quick                      small sizes, finishes in under a minute
      --filter NAME                only suites or cases whose name contains NAME (repeatable)
      --json FILE                  also write the JSON report to FILE
      --threads N                  CPU threads (default: all cores)
      --device cpu|cuda            where the kernels run (default: cpu)
  frugal run JOB.json              run a job file (validated before any work)
  frugal help                      this text

job types: ${jobTypes.map((t) => `${t.type} (${t.description})`).join('; ')}`;

async function execute(job: ValidJob, label: string): Promise<unknown> {
  const progress = progressLine(label);
  try {
    return await runJob(job, (f, note) => progress.update(f, note));
  } finally {
    progress.done();
  }
}

function printResult(type: string, result: unknown): void {
  if (type === 'bench') process.stdout.write(benchReportText(result as BenchReport));
  else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

async function bench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      filter: { type: 'string', multiple: true },
      json: { type: 'string' },
      threads: { type: 'string' },
      device: { type: 'string' },
    },
    strict: true,
  });
  const job: Record<string, unknown> = { type: 'bench', quick: values.quick, filter: values.filter ?? [] };
  if (values.threads !== undefined) job.threads = Number(values.threads);
  if (values.device !== undefined) job.device = values.device;
  const valid = validateJob(job, 'frugal bench');
  const report = (await execute(valid, 'bench')) as BenchReport;
  printResult('bench', report);
  if (values.json) {
    writeFileAtomic(values.json, JSON.stringify(report, null, 2) + '\n', 'the JSON report');
    process.stdout.write(`JSON report written to ${values.json}\n`);
  }
}

async function run(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 1) throw new FrugalError('E_CONFIG', 'frugal run: expected one job file, e.g. `frugal run job.json`');
  const job = loadJob(positionals[0]);
  const result = await execute(job, job.type.type);
  printResult(job.type.type, result);
  if (job.output) process.stdout.write(`result written to ${job.output}\n`);
}

/** Entry point of bin/frugal.js; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'info':
        process.stdout.write(JSON.stringify(info(), null, 2) + '\n');
        return 0;
      case 'bench':
        await bench(rest);
        return 0;
      case 'run':
        await run(rest);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`frugal: unknown command '${command}'\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof FrugalError) {
      process.stderr.write(`frugal: ${err.code}: ${err.message}\n`);
      return 1;
    }
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`frugal: ${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}
