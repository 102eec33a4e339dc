// `frugal run JOB.json`: validate the job against its type's schema (filling
// defaults) before any work, run it with progress, write the result atomically.
import * as fs from 'node:fs';
import Ajv, { type ErrorObject } from 'ajv';
import { FrugalError, describe } from '../errors';
import { writeFileAtomic } from '../atomic_write';
import type { JobContext, JobType } from './job';
import { jobTypes } from './registry';

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: true });
const validators = new Map(jobTypes.map((t) => [t.type, ajv.compile(t.schema)]));

function errorText(e: ErrorObject): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') {
    return `${where === '/' ? '' : where}/${(e.params as { additionalProperty: string }).additionalProperty}: unknown field`;
  }
  if (e.keyword === 'required') return `${where === '/' ? '' : where}/${(e.params as { missingProperty: string }).missingProperty}: required field missing`;
  return `${where}: ${e.message}`;
}

/** A validated job: its type, its config with defaults, and where to write the result. */
export interface ValidJob {
  type: JobType;
  config: Record<string, unknown>;
  output?: string;
}

/**
 * Validates a job object. Every job has `type` and may have `output` (a path
 * for the JSON result); the rest is checked by the type's schema, defaults filled.
 */
export function validateJob(job: unknown, source = 'job'): ValidJob {
  if (job === null || typeof job !== 'object' || Array.isArray(job)) {
    throw new FrugalError('E_CONFIG', `${source}: expected a JSON object, got ${describe(job)}`);
  }
  const kind = (job as { type?: unknown }).type;
  const type = jobTypes.find((t) => t.type === kind);
  if (!type) {
    throw new FrugalError('E_CONFIG', `${source} /type: expected one of ${jobTypes.map((t) => `'${t.type}'`).join(', ')}, got ${describe(kind)}`);
  }
  const { output, ...rest } = job as Record<string, unknown>;
  if (output !== undefined && (typeof output !== 'string' || output.length === 0)) {
    throw new FrugalError('E_CONFIG', `${source} /output: expected a file path, got ${describe(output)}`);
  }
  const config = structuredClone(rest);
  const validate = validators.get(type.type)!;
  if (!validate(config)) throw new FrugalError('E_CONFIG', `${source} ${errorText(validate.errors![0])}`);
  return { type, config, output: output as string | undefined };
}

/** Reads a job file and validates it. */
export function loadJob(file: string): ValidJob {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FrugalError('E_CONFIG', `${file}: cannot read the job file (${(err as Error).message})`);
  }
  let job: unknown;
  try {
    job = JSON.parse(text);
  } catch (err) {
    throw new FrugalError('E_CONFIG', `${file}: not valid JSON (${(err as Error).message})`);
  }
  return validateJob(job, file);
}

/** Runs a validated job; writes the result to config.output (atomically) when given. */
export async function runJob(job: ValidJob, ctx: JobContext): Promise<unknown> {
  const result = await job.type.run(job.config, ctx);
  if (job.output) writeFileAtomic(job.output, JSON.stringify(result, null, 2) + '\n');
  return result;
}
