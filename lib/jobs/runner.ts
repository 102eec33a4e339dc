// `frugal run JOB.json`: validate the job against its type's schema (filling
// defaults) before any work, run it with progress, write the result atomically.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { FrugalError, describe } from '../errors';
import { checkWritable, writeFilesAtomic, type OutputData, type OutputFile } from '../atomic_write';
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
 * for the JSON result; the type's `resultKey` when it names another field); the
 * rest is checked by the type's schema, defaults filled.
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
  const key = type.resultKey ?? 'output';
  const { [key]: output, ...rest } = job as Record<string, unknown>;
  if (output !== undefined && (typeof output !== 'string' || output.length === 0)) {
    throw new FrugalError('E_CONFIG', `${source} /${key}: expected a file path, got ${describe(output)}`);
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

/**
 * Runs a validated job. Every output path (the JSON result's `output` and the
 * files the type declares) is checked before any work; the job's files and the
 * JSON result are written at the end, atomically and all or none.
 * @throws FrugalError E_CONFIG (an output that cannot be written, two outputs on one path), or the job's own error.
 */
export async function runJob(job: ValidJob, progress: JobContext['progress']): Promise<unknown> {
  const declared = [...(job.type.outputs?.(job.config) ?? []), ...(job.output ? [job.output] : [])];
  const seen = new Set<string>();
  for (const file of declared) {
    checkWritable(file, 'a job output');
    const resolved = path.resolve(file);
    if (seen.has(resolved)) throw new FrugalError('E_CONFIG', `${file}: named as two outputs of one job`);
    seen.add(resolved);
  }
  const files: OutputFile[] = [];
  const writeFile = (file: string, data: OutputData) => {
    if (!seen.has(path.resolve(file))) throw new FrugalError('E_NATIVE', `${file}: the job wrote a file it did not declare in outputs()`);
    files.push({ file, data, what: 'a job output' });
  };
  const result = await job.type.run(job.config, { progress, writeFile });
  if (job.output) files.push({ file: job.output, data: JSON.stringify(result, null, 2) + '\n', what: 'the job result' });
  writeFilesAtomic(files);
  return result;
}
