// The `hadamard` namespace: EGE-UNet's Hadamard-product attention modules.
import { gab, gabAsync, gabBackward, gabBackwardAsync } from './gab';
import { ghpa, ghpaAsync, ghpaBackward, ghpaBackwardAsync, ghpaMaps, ghpaMapsAsync } from './ghpa';
import { gabLayout, ghpaLayout } from './layout';

export type { GhpaInputs, GhpaResult, GhpaBackwardInputs, GhpaGrads, GhpaMaps, GhpaMapsInputs, GhpaSaved } from './ghpa';
export type { GabInputs, GabResult, GabBackwardInputs, GabGrads, GabSaved } from './gab';
export type { LayoutEntry, ModuleLayout, ModuleParams } from './layout';
export { Ghpa, Gab, HadamardModule, type GhpaOptions, type GabOptions, type ForwardOptions, type LoadOptions } from './modules';

/**
 * EGE-UNet's modules (Ruan et al., MICCAI 2023): GHPA, grouped multi-axis
 * Hadamard-product attention, and GAB, the group aggregation bridge; each forward
 * and backward one native call over the feature-map ops, parameters keyed by
 * PyTorch's state_dict names. See README "Hadamard-product attention (EGE-UNet)".
 */
export const hadamard = {
  ghpa, ghpaAsync, ghpaBackward, ghpaBackwardAsync, ghpaMaps, ghpaMapsAsync,
  gab, gabAsync, gabBackward, gabBackwardAsync,
  ghpaLayout, gabLayout,
};
