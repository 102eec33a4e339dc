// What a `frugal run` job type is. Each type lives in lib/jobs/<type>.ts and is
// listed in lib/jobs/registry.ts; the runner validates a job file against the
// type's JSON schema (defaults filled in) before any work starts.
import type { OutputData } from '../atomic_write';

/** Given to a running job: report progress (shown on a TTY only), and files to write. */
export interface JobContext {
  progress(fraction: number, note?: string): void;
  /**
   * Queues a file the job produces; the runner writes it with the JSON result once
   * the job is done, all outputs or none (a failed job leaves no file behind).
   * `data` may be a function streaming the bytes, called at that time.
   */
  writeFile(file: string, data: OutputData): void;
}

/** One job type: its name, its config schema (JSON Schema draft-07) and its work. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface JobType<C = any> {
  type: string;
  description: string;
  schema: object;
  run(config: C, ctx: JobContext): Promise<unknown>;
  /** The files this config makes the job write (besides the JSON result): checked writable before any work. */
  outputs?(config: C): string[];
  /** The job file's field naming the JSON result's path. Default 'output'. */
  resultKey?: string;
}
