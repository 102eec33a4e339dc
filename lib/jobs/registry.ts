// Every job type `frugal run` knows, by its `type` field.
import { benchJob } from './bench';
import { dpEpsilonJob } from './dp_epsilon';
import { dpNoiseJob } from './dp_noise';
import type { JobType } from './job';
import { mlpFusionJob } from './mlp_fusion';
import { pathEncodeJob } from './path_encode';
import { egeunetSegmentJob } from './egeunet_segment';
import { slashProjectJob } from './slash_project';

export const jobTypes: JobType[] = [benchJob, dpEpsilonJob, dpNoiseJob, slashProjectJob, mlpFusionJob, pathEncodeJob, egeunetSegmentJob];
