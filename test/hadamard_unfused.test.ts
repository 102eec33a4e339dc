// The bench's unfused GHPA and GAB (separate featureMap ops, bench/hadamard_unfused)
// against the fused hadamard.ghpa / gab on awkward sizes: y, the input gradients
// and every parameter gradient within 1e-5 + 1e-4·|fused|. Both sides are Frugal
// fp32, so this checks the composition the bench times and the fused modules' wiring.
import test from 'ava';
import { Gab, Ghpa, Tensor, hadamard, type ModuleParams } from '../lib';
import { gabBackwardUnfused, gabUnfused, ghpaBackwardUnfused, ghpaMapsUnfused, ghpaUnfused } from '../bench/hadamard_unfused';
import { assertClose, seededFloats as random } from './helpers';

const close = (t: Parameters<typeof assertClose>[0], got: ArrayLike<number>, want: ArrayLike<number>, what: string) =>
  assertClose(t, got, want, 1e-5, 1e-4, what);

/** Every parameter away from its default (maps 1, LN 1 / 0), so each gradient path carries signal. */
function perturb(params: Readonly<ModuleParams>, seed: number): void {
  Object.values(params).forEach((p, i) => {
    const r = random(p.size, seed + i, 0.3);
    for (let j = 0; j < p.size; j++) p.data[j] += r[j];
  });
}

const tensor = (shape: number[], seed: number, scale = 1) => Tensor.from(random(shape.reduce((a, b) => a * b, 1), seed, scale), shape);

function checkParams(t: Parameters<typeof assertClose>[0], got: ModuleParams, want: ModuleParams, what: string): void {
  t.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: the same gradient keys`);
  for (const [k, w] of Object.entries(want)) {
    t.deepEqual(got[k].shape, w.shape, `${what} d ${k} shape`);
    close(t, got[k].data, w.data, `${what} d ${k}`);
  }
}

const ghpaSizes: Array<[number, number, number, number, number]> = [
  // dimIn, dimOut, B, H, W
  [8, 12, 2, 7, 9],
  [12, 5, 1, 3, 17],
  [4, 3, 3, 1, 2],
];

for (const [C, O, B, H, W] of ghpaSizes) {
  test(`unfused GHPA(${C}, ${O}) at ${B}×${H}×${W} equals hadamard.ghpa: y, dx, every dParam; inference with maps`, (t) => {
    const m = new Ghpa({ dimIn: C, dimOut: O, seed: 5 });
    perturb(m.params, 100);
    const x = tensor([B, C, H, W], 1, 2);
    const dy = tensor([B, O, H, W], 2);
    const fused = hadamard.ghpa({ x, params: m.params });
    const mine = ghpaUnfused(x, m.params);
    close(t, mine.y.data, fused.y.data, 'y');
    const g = hadamard.ghpaBackward({ x, params: m.params, saved: fused.saved!, dy });
    const u = ghpaBackwardUnfused(x, m.params, mine.saved, dy);
    close(t, u.dx.data, g.dx.data, 'dx');
    checkParams(t, u.dParams, g.dParams, `GHPA(${C}, ${O})`);
    // The maps and an inference forward with them.
    const fm = hadamard.ghpaMaps({ params: m.params, H, W });
    const um = ghpaMapsUnfused(m.params, H, W);
    close(t, um.xy.data, fm.xy.data, 'maps.xy');
    close(t, um.zx.data, fm.zx.data, 'maps.zx');
    close(t, um.zy.data, fm.zy.data, 'maps.zy');
    close(t, ghpaUnfused(x, m.params, um).y.data, hadamard.ghpa({ x, params: m.params, maps: fm }).y.data, 'inference y');
  });
}

const gabSizes: Array<{ Ch: number; Cl: number; B: number; h: number; w: number; H: number; W: number }> = [
  { Ch: 16, Cl: 8, B: 2, h: 4, w: 5, H: 7, W: 9 },
  { Ch: 5, Cl: 12, B: 1, h: 3, w: 3, H: 11, W: 6 },  // dilation 7 reaches past the image
  { Ch: 3, Cl: 4, B: 3, h: 1, w: 2, H: 2, W: 3 },
];

for (const { Ch, Cl, B, h, w, H, W } of gabSizes) {
  test(`unfused GAB(${Ch}, ${Cl}) with xh ${h}×${w} → xl ${B}×${H}×${W} equals hadamard.gab: y, dxh, dxl, dmask, every dParam`, (t) => {
    const m = new Gab({ dimXh: Ch, dimXl: Cl, seed: 7 });
    perturb(m.params, 200);
    const xh = tensor([B, Ch, h, w], 3, 2), xl = tensor([B, Cl, H, W], 4, 2), mask = tensor([B, 1, H, W], 5, 3);
    const dy = tensor([B, Cl, H, W], 6);
    const fused = hadamard.gab({ xh, xl, mask, params: m.params });
    const mine = gabUnfused(xh, xl, mask, m.params);
    close(t, mine.y.data, fused.y.data, 'y');
    const g = hadamard.gabBackward({ xh, xl, mask, params: m.params, saved: fused.saved!, dy });
    const u = gabBackwardUnfused(xh, xl, m.params, mine.saved, dy);
    close(t, u.dxh.data, g.dxh.data, 'dxh');
    close(t, u.dxl.data, g.dxl.data, 'dxl');
    close(t, u.dmask.data, g.dmask.data, 'dmask');
    t.deepEqual(u.dmask.shape, g.dmask.shape);
    checkParams(t, u.dParams, g.dParams, `GAB(${Ch}, ${Cl})`);
  });
}
