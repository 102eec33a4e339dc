// The `slash` namespace: random-projection layers (SLaSh and JR-WARP).
import {
  foldShift, foldShiftAsync, outputBlock, outputBlockAsync, outputBlockBackward, outputBlockBackwardAsync, project,
  projectAsync, projectBackward, projectBackwardAsync, promptAdd, promptAddAsync, promptAddBackward,
  promptAddBackwardAsync, promptInsert, promptInsertAsync, promptInsertBackward, promptInsertBackwardAsync,
} from './ops';
import { loadTask, saveTask } from './task';

export type {
  ProjectionDist, ProjectOptions, ProjectBackwardOptions, OutputBlockInputs, OutputBlockResult, OutputBlockBackwardInputs,
  OutputBlockGrads, PromptInsertResult,
} from './ops';
export type { SlashTask, TaskKind } from './task';
export type { Offsets } from '../packed';
export { SharedLayerShift, ReparamPrompt, type SharedLayerShiftOptions } from './shared_layer_shift';

/**
 * Random-projection layers (Gupta, Galstyan, Ver Steeg, ACL Findings 2023): the
 * projection z·W_l with W_l regenerated from random streams (never stored), its
 * batch and per-sample backward, the fused output block, the inference fold,
 * JR-WARP's prompt ops, and task files. See README "Random-projection layers".
 */
export const slash = {
  project, projectAsync, projectBackward, projectBackwardAsync,
  outputBlock, outputBlockAsync, outputBlockBackward, outputBlockBackwardAsync,
  foldShift, foldShiftAsync,
  promptInsert, promptInsertAsync, promptInsertBackward, promptInsertBackwardAsync,
  promptAdd, promptAddAsync, promptAddBackward, promptAddBackwardAsync,
  saveTask, loadTask,
};
