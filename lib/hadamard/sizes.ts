// The sizes of the buffers the modules save for their backward, from the addon
// (the C++ carves them, so it alone knows them), cached per shape.
import { native } from '../binding';

interface SizesNative {
  hadamardSizes(args: { B: number; C: number; O: number; H: number; W: number; h: number; w: number }): Sizes;
}

/** Floats of each buffer, for one shape (fields of the other module are meaningless). */
export interface Sizes {
  ghpaMaps: number;
  ghpaSaved: number;
  gabSaved: number;
}

const cache = new Map<string, Sizes>();

/** GHPA: C → O at H × W; GAB: C = Ch at h × w, O = Cl at H × W. */
export function moduleSizes(B: number, C: number, O: number, H: number, W: number, h = 1, w = 1): Sizes {
  const key = `${B} ${C} ${O} ${H} ${W} ${h} ${w}`;
  let s = cache.get(key);
  if (!s) {
    s = native<SizesNative>().hadamardSizes({ B, C, O, H, W, h, w });
    cache.set(key, s);
  }
  return s;
}
