// Job type 'bench': runs the benchmark suites (what `frugal bench` does).
import { runSuites, machine, formatTable, type CaseResult } from '../../bench/runner';
import { suites } from '../../bench/suites';
import { info, setNumThreads } from '../core';
import type { JobType } from './job';

/** Config of a 'bench' job (defaults filled in by the schema). */
export interface BenchJobConfig {
  type: 'bench';
  quick: boolean;
  filter: string[];
  threads?: number;
  device: 'cpu' | 'cuda';
}

/** The JSON report of a bench run. */
export interface BenchReport {
  machine: Record<string, unknown>;
  isa: string;
  threads: number;
  device: string;
  quick: boolean;
  results: CaseResult[];
}

export const benchJob: JobType<BenchJobConfig> = {
  type: 'bench',
  description: 'Run the benchmark suites: each kernel beside its baseline from the same run',
  schema: {
    type: 'object',
    properties: {
      type: { const: 'bench' },
      quick: { type: 'boolean', default: false },
      filter: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
      threads: { type: 'integer', minimum: 1, maximum: 1024 },
      device: { enum: ['cpu', 'cuda'], default: 'cpu' },
    },
    required: ['type'],
    additionalProperties: false,
  },
  async run(config, ctx) {
    if (config.threads !== undefined) setNumThreads(config.threads);
    const results = await runSuites(suites, {
      quick: config.quick,
      filter: config.filter,
      device: config.device,
      onProgress: (done, total, label) => ctx.progress(total ? done / total : 1, label),
    });
    const i = info();
    const report: BenchReport = {
      machine: machine(),
      isa: i.isa,
      threads: i.threads,
      device: config.device,
      quick: config.quick,
      results,
    };
    return report;
  },
};

/** The table printed for a bench report. */
export function benchReportText(report: BenchReport): string {
  const m = report.machine;
  return (
    `frugal bench — ${m.cpu}, ${report.threads} threads, isa ${report.isa}, device ${report.device}` +
    `${report.quick ? ' (quick)' : ''}\n\n${formatTable(report.results)}\n`
  );
}
