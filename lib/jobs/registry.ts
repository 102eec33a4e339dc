// Every job type `frugal run` knows, by its `type` field.
import { benchJob } from './bench';
import type { JobType } from './job';

export const jobTypes: JobType[] = [benchJob];
