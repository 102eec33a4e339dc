// EGE-UNet (Ruan et al., MICCAI 2023): a six-stage U-Net whose deep stages are
// GHPA blocks and whose skips are GAB bridges, with deep supervision. The
// forward composes Frugal's ops (the modules are one native call each); a
// training forward records a tape its backward runs.
import { gelu, geluBackward, sigmoid, sigmoidBackward } from '../activation';
import { FrugalError } from '../errors';
import { featureMap } from '../feature_map';
import { Gab, Ghpa, type HadamardModule } from '../hadamard';
import { random, StreamTags } from '../random';
import { Tensor, checkDims, checkFinite, checkTensor, zeros } from '../tensor';
import { checkBool, checkInt, checkOptions, checkSeed, optionKeys, shapeText } from '../validate';
import { Tape } from './tape';

/** Options of {@link EgeUNet}. */
export interface EgeUNetOptions {
  /** The six stages' channels, each stage's GHPA/GAB input a multiple of 4. Default [8, 16, 24, 32, 48, 64]. */
  channels?: number[];
  /** The GAB bridges on the skips (default true); without them the skips are added as they are. */
  bridge?: boolean;
  /** Return the five deep-supervision masks too (default true). */
  deepSupervision?: boolean;
  /** Input image channels (default 3). */
  inputChannels?: number;
  /** Seed of the initialisation streams (tag 6). Default 0. */
  seed?: number | bigint;
}

/** What {@link EgeUNet.forward} returns. */
export interface EgeUNetOutput {
  /** [B, 1, H, W]: sigmoid of the final logit. */
  mask: Tensor;
  /** The deep-supervision masks [B, 1, H, W], coarsest (from H/32) first; [] without deep supervision. */
  ds: Tensor[];
}

/** The gradients of a loss with respect to the outputs, for {@link EgeUNet.backward}. */
export interface EgeUNetOutputGrads {
  dMask: Tensor;
  /** One per deep-supervision mask, or omitted (no loss on them). */
  dDs?: Tensor[];
}

const OPTION_KEYS = optionKeys<EgeUNetOptions>({ channels: true, bridge: true, deepSupervision: true, inputChannels: true, seed: true });
const FORWARD_KEYS = optionKeys<{ train?: boolean }>({ train: true });
const DEFAULT_CHANNELS = [8, 16, 24, 32, 48, 64];
const GN_GROUPS = 4;

// A conv's or a GroupNorm's tensors under their state_dict prefix.
interface Plain {
  prefix: string;
  norm: boolean;
  shapes: Array<[string, number[]]>;
}

/** EGE-UNet with its parameters keyed as the authors' PyTorch state_dict; CPU tensors. */
export class EgeUNet {
  readonly channels: readonly number[];
  readonly bridge: boolean;
  readonly deepSupervision: boolean;
  /** Every parameter by state_dict key (the modules' are views of their buffers). */
  readonly params: Readonly<Record<string, Tensor>>;
  /** Accumulated gradients by the same keys (cleared by {@link zeroGrad}). */
  readonly grads: Readonly<Record<string, Tensor>>;
  private readonly modules: Record<string, HadamardModule> = {};
  private tape: Tape | null = null;
  private outputs: { mask: Tensor; ds: Tensor[]; x: Tensor } | null = null;
  private inferenceSize = '';

  /** @throws FrugalError E_SHAPE (channels of the wrong count or not divisible by 4 where a module splits them), E_RANGE, E_CONFIG. */
  constructor(options: EgeUNetOptions = {}) {
    const o = checkOptions<EgeUNetOptions>(options, 'options', OPTION_KEYS);
    const c = o.channels === undefined ? DEFAULT_CHANNELS : o.channels;
    if (!Array.isArray(c) || c.length !== 6) throw new FrugalError('E_SHAPE', `options.channels: expected 6 channel counts, got ${Array.isArray(c) ? c.length : typeof c}`);
    c.forEach((v, i) => checkInt(v, `options.channels[${i}]`, 1));
    for (const i of [0, 1, 2, 3, 4]) {
      if (c[i] % GN_GROUPS !== 0) throw new FrugalError('E_SHAPE', `options.channels[${i}]: expected a multiple of ${GN_GROUPS} (GroupNorm and the modules' groups), got ${c[i]}`);
    }
    this.channels = Object.freeze([...c]);
    this.bridge = checkBool(o.bridge === undefined ? true : o.bridge, 'options.bridge');
    this.deepSupervision = checkBool(o.deepSupervision === undefined ? true : o.deepSupervision, 'options.deepSupervision');
    const inputs = checkInt(o.inputChannels === undefined ? 3 : o.inputChannels, 'options.inputChannels', 1);
    const seed = checkSeed(o.seed === undefined ? 0 : o.seed, 'options.seed');

    const plain: Plain[] = [];
    const conv = (prefix: string, cin: number, cout: number, k: number) =>
      plain.push({ prefix, norm: false, shapes: [['weight', [cout, cin, k, k]], ['bias', [cout]]] });
    const norm = (prefix: string, ch: number) => plain.push({ prefix, norm: true, shapes: [['weight', [ch]], ['bias', [ch]]] });
    conv('encoder1.0', inputs, c[0], 3);
    conv('encoder2.0', c[0], c[1], 3);
    conv('encoder3.0', c[1], c[2], 3);
    const sub = (i: number) => BigInt(1000 * (i + 1));  // each module's streams: seed + its own offset
    [[2, 3], [3, 4], [4, 5]].forEach(([i, j], n) => { this.modules[`encoder${n + 4}.0.`] = new Ghpa({ dimIn: c[i], dimOut: c[j], seed: seed + sub(n) }); });
    if (this.bridge) {
      for (let n = 1; n <= 5; n++) this.modules[`GAB${n}.`] = new Gab({ dimXh: c[n], dimXl: c[n - 1], seed: seed + sub(10 + n) });
    }
    if (this.bridge || this.deepSupervision) for (let n = 1; n <= 5; n++) conv(`gt_conv${n}.0`, c[5 - n], 1, 1);
    [[5, 4], [4, 3], [3, 2]].forEach(([i, j], n) => { this.modules[`decoder${n + 1}.0.`] = new Ghpa({ dimIn: c[i], dimOut: c[j], seed: seed + sub(20 + n) }); });
    conv('decoder4.0', c[2], c[1], 3);
    conv('decoder5.0', c[1], c[0], 3);
    for (let n = 1; n <= 5; n++) norm(`ebn${n}`, c[n - 1]);
    for (let n = 1; n <= 5; n++) norm(`dbn${n}`, c[5 - n]);
    conv('final', c[0], 1, 1);

    const params: Record<string, Tensor> = {};
    const grads: Record<string, Tensor> = {};
    plain.forEach((p, i) => {
      for (const [name, shape] of p.shapes) {
        const t = zeros(shape);
        if (p.norm) {
          t.data.fill(name === 'weight' ? 1 : 0);
        } else {
          // PyTorch's default: uniform in ±1/√fan_in for a conv's weight and bias.
          const fanIn = p.shapes[0][1].slice(1).reduce((a, b) => a * b, 1);
          random.uniform(t.size, { seed, sub: 2 * i + (name === 'bias' ? 1 : 0), tag: StreamTags.parameterInit, out: t.data });
          for (let j = 0; j < t.size; j++) t.data[j] = (2 * t.data[j] - 1) / Math.sqrt(fanIn);
        }
        params[`${p.prefix}.${name}`] = t;
        grads[`${p.prefix}.${name}`] = zeros(shape);
      }
    });
    for (const [prefix, m] of Object.entries(this.modules)) {
      m.trustInputs();  // the network scans its input and its state dict once; the rest are its own values
      for (const [k, t] of Object.entries(m.params)) params[prefix + k] = t;
      for (const [k, t] of Object.entries(m.grads)) grads[prefix + k] = t;
    }
    this.params = Object.freeze(params);
    this.grads = Object.freeze(grads);
  }

  /** The number of parameters (53,374 with the default channels). */
  parameterCount(): number {
    return Object.values(this.params).reduce((n, t) => n + t.size, 0);
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    for (const g of Object.values(this.grads)) g.data.fill(0);
  }

  /**
   * Copies a PyTorch state dict (e.g. `loadSafetensors(file).tensors`) into the
   * parameters: every key of the network must be there with its shape; other
   * keys are ignored.
   * @throws FrugalError E_CONFIG (a missing key, naming it), E_SHAPE (another shape), E_DTYPE.
   */
  loadStateDict(dict: Record<string, Tensor>): void {
    for (const [key, t] of Object.entries(this.params)) {
      if (!(key in dict)) throw new FrugalError('E_CONFIG', `dict: missing '${key}' (shape ${shapeText(t.shape)})`);
      const src = checkTensor(dict[key], `dict['${key}']`);
      if (src.shape.join() !== t.shape.join()) throw new FrugalError('E_SHAPE', `dict['${key}']: expected shape ${shapeText(t.shape)}, got ${shapeText(src.shape)}`);
      checkFinite(src, `dict['${key}']`);
    }
    for (const [key, t] of Object.entries(this.params)) t.data.set(dict[key].to('cpu').data);
    this.inferenceSize = '';
  }

  /**
   * The masks of images x [B, inputChannels, H, W] (H and W multiples of 32). A
   * training forward (the default) records what {@link backward} needs; with
   * `train: false` GHPA's maps are precomputed once per size and nothing is kept.
   * @throws FrugalError E_SHAPE (x of another channel count, or H, W not multiples of 32), E_RANGE (NaN or Inf), E_DTYPE.
   */
  forward(x: Tensor, options: { train?: boolean } = {}): EgeUNetOutput {
    const { train = true } = checkOptions<{ train?: boolean }>(options, 'options', FORWARD_KEYS);
    checkBool(train, 'options.train');
    const input = checkTensor(x, 'x');
    if (input.device !== 'cpu') throw new FrugalError('E_DEVICE', `x: EgeUNet runs on the CPU, got a tensor on '${input.device}'`);
    checkDims(input, 'x', [-1, this.params['encoder1.0.weight'].shape[1], -1, -1]);
    const [B, , H, W] = input.shape;
    if (B < 1 || H < 32 || W < 32 || H % 32 !== 0 || W % 32 !== 0) {
      throw new FrugalError('E_SHAPE', `x: expected B >= 1 and H, W multiples of 32 (five 2×2 pools), got ${shapeText(input.shape)}`);
    }
    checkFinite(input, 'x');
    if (!train) this.precompute(H, W);
    const tape = train ? new Tape() : null;
    const out = this.run(input, tape);
    this.tape = tape;
    this.outputs = train ? { ...out, x: input } : null;
    return out;
  }

  /**
   * Sends the outputs' gradients back through the last training forward: returns
   * ∂x and adds every parameter's gradient to {@link grads}.
   * @throws FrugalError E_CONFIG (no training forward before), E_SHAPE (gradients of other shapes).
   */
  backward(grads: EgeUNetOutputGrads): Tensor {
    if (!this.tape || !this.outputs) throw new FrugalError('E_CONFIG', 'egeunet.backward: no training forward to go back through');
    const { mask, ds, x } = this.outputs;
    const tape = this.tape;
    const dMask = checkTensor(grads.dMask, 'grads.dMask');
    checkDims(dMask, 'grads.dMask', [...mask.shape]);
    tape.add(mask, Tensor.from(dMask.data.slice(), [...mask.shape]));
    if (grads.dDs !== undefined) {
      if (!Array.isArray(grads.dDs) || grads.dDs.length !== ds.length) throw new FrugalError('E_SHAPE', `grads.dDs: expected ${ds.length} tensors, got ${Array.isArray(grads.dDs) ? grads.dDs.length : typeof grads.dDs}`);
      grads.dDs.forEach((g, i) => {
        const t = checkTensor(g, `grads.dDs[${i}]`);
        checkDims(t, `grads.dDs[${i}]`, [...ds[i].shape]);
        tape.add(ds[i], Tensor.from(t.data.slice(), [...t.shape]));
      });
    }
    tape.run();
    this.tape = null;
    this.outputs = null;
    return tape.grad(x) ?? zeros([...x.shape]);
  }

  /** GHPA's maps for inputs of H × W (each block at its own resolution). */
  precompute(H: number, W: number): void {
    const size = `${H}x${W}`;
    if (this.inferenceSize === size) return;
    const scale = { 'encoder4.0.': 8, 'encoder5.0.': 16, 'encoder6.0.': 32, 'decoder1.0.': 32, 'decoder2.0.': 16, 'decoder3.0.': 8 };
    for (const [prefix, s] of Object.entries(scale)) (this.modules[prefix] as Ghpa).precompute(H / s, W / s);
    this.inferenceSize = size;
  }

  // ---- the forward, one step per op; `tape` null for inference ----

  private run(x: Tensor, tape: Tape | null): EgeUNetOutput {
    const s = new Steps(this.params, this.grads, tape);
    const m = this.modules;
    const stage = (t: Tensor, conv: (t: Tensor) => Tensor, n: number) => s.gelu(s.pool(s.groupNorm(conv(t), `ebn${n}`)));
    const t1 = stage(x, (t) => s.conv(t, 'encoder1.0', 1), 1);
    const t2 = stage(t1, (t) => s.conv(t, 'encoder2.0', 1), 2);
    const t3 = stage(t2, (t) => s.conv(t, 'encoder3.0', 1), 3);
    const t4 = stage(t3, (t) => s.ghpa(m['encoder4.0.'] as Ghpa, t), 4);
    const t5 = stage(t4, (t) => s.ghpa(m['encoder5.0.'] as Ghpa, t), 5);
    const t6 = s.gelu(s.ghpa(m['encoder6.0.'] as Ghpa, t5));
    const skips = [t1, t2, t3, t4, t5];
    const decoders: Array<(t: Tensor) => Tensor> = [
      (t) => s.ghpa(m['decoder1.0.'] as Ghpa, t), (t) => s.ghpa(m['decoder2.0.'] as Ghpa, t), (t) => s.ghpa(m['decoder3.0.'] as Ghpa, t),
      (t) => s.conv(t, 'decoder4.0', 1), (t) => s.conv(t, 'decoder5.0', 1),
    ];
    const H = x.shape[2], W = x.shape[3];
    let out = t6, high = t6;
    const ds: Tensor[] = [];
    for (let n = 1; n <= 5; n++) {
      const decoded = s.groupNorm(decoders[n - 1](out), `dbn${n}`);
      const dec = s.gelu(n === 1 ? decoded : s.up(decoded, 2));  // decoder1 stays at H/32
      let skip = skips[5 - n];
      if (this.bridge || this.deepSupervision) {
        const p = s.conv(dec, `gt_conv${n}.0`, 0);
        if (this.bridge) skip = s.gab(m[`GAB${6 - n}.`] as Gab, high, skip, p);
        if (this.deepSupervision) ds.push(s.sigmoid(s.resizeTo(p, H, W)));
      }
      high = skip;
      out = s.add(dec, skip);
    }
    return { mask: s.sigmoid(s.up(s.conv(out, 'final', 0), 2)), ds };
  }
}

// The network's steps: each runs one op and, on a tape, records its backward.
class Steps {
  constructor(
    private readonly params: Readonly<Record<string, Tensor>>,
    private readonly grads: Readonly<Record<string, Tensor>>,
    private readonly tape: Tape | null,
  ) {}

  private accumulate(key: string, g: Tensor): void {
    const a = this.grads[key].data, b = g.data;
    for (let i = 0; i < a.length; i++) a[i] += b[i];
  }

  private back(out: Tensor, fn: (g: Tensor) => void): void {
    const tape = this.tape;
    if (!tape) return;
    tape.record(() => {
      const g = tape.grad(out);
      if (g) fn(g);
    });
  }

  conv(x: Tensor, prefix: string, padding: number): Tensor {
    const weight = this.params[`${prefix}.weight`];
    const { y } = featureMap.conv2d({ x, weight, bias: this.params[`${prefix}.bias`], padding });
    this.back(y, (dy) => {
      const g = featureMap.conv2dBackward({ x, weight, padding, dy });
      this.accumulate(`${prefix}.weight`, g.dweight);
      this.accumulate(`${prefix}.bias`, g.dbias);
      this.tape!.add(x, g.dx);
    });
    return y;
  }

  groupNorm(x: Tensor, prefix: string): Tensor {
    const weight = this.params[`${prefix}.weight`];
    const r = featureMap.groupNorm({ x, groups: GN_GROUPS, weight, bias: this.params[`${prefix}.bias`], eps: 1e-5 });
    this.back(r.y, (dy) => {
      const g = featureMap.groupNormBackward({ dy, x, groups: GN_GROUPS, weight, mean: r.mean, rstd: r.rstd });
      this.accumulate(`${prefix}.weight`, g.dweight);
      this.accumulate(`${prefix}.bias`, g.dbias);
      this.tape!.add(x, g.dx);
    });
    return r.y;
  }

  pool(x: Tensor): Tensor {
    const { y } = featureMap.maxPool2d({ x });
    this.back(y, (dy) => this.tape!.add(x, featureMap.maxPool2dBackward({ dy, x }).dx));
    return y;
  }

  // Inference needs no input twice: GELU, the sums and the sigmoids write in place.
  gelu(x: Tensor): Tensor {
    const y = this.tape ? gelu(x) : gelu(x, { out: x });
    this.back(y, (dy) => this.tape!.add(x, geluBackward(x, dy)));
    return y;
  }

  up(x: Tensor, factor: number): Tensor {
    return this.resizeTo(x, x.shape[2] * factor, x.shape[3] * factor);
  }

  resizeTo(x: Tensor, h: number, w: number): Tensor {
    const { y } = featureMap.resize({ x, size: [h, w] });
    this.back(y, (dy) => this.tape!.add(x, featureMap.resizeBackward({ dy, inputSize: [x.shape[2], x.shape[3]] }).dx));
    return y;
  }

  add(a: Tensor, b: Tensor): Tensor {
    const y = this.tape ? zeros([...a.shape]) : a;
    const ya = y.data, da = a.data, db = b.data;
    for (let i = 0; i < ya.length; i++) ya[i] = da[i] + db[i];
    // Each input gets its own copy: the tape sums into the first gradient it is given.
    this.back(y, (dy) => {
      this.tape!.add(a, Tensor.from(dy.data.slice(), [...dy.shape]));
      this.tape!.add(b, Tensor.from(dy.data.slice(), [...dy.shape]));
    });
    return y;
  }

  sigmoid(x: Tensor): Tensor {
    const y = this.tape ? sigmoid(x) : sigmoid(x, { out: x });
    this.back(y, (dy) => this.tape!.add(x, sigmoidBackward(y, dy)));
    return y;
  }

  ghpa(m: Ghpa, x: Tensor): Tensor {
    const y = m.forward(x, { train: this.tape !== null });
    this.back(y, (dy) => this.tape!.add(x, m.backward(dy)));
    return y;
  }

  gab(m: Gab, xh: Tensor, xl: Tensor, mask: Tensor): Tensor {
    const y = m.forward(xh, xl, mask, { train: this.tape !== null });
    this.back(y, (dy) => {
      const g = m.backward(dy);
      this.tape!.add(xh, g.dxh);
      this.tape!.add(xl, g.dxl);
      this.tape!.add(mask, g.dmask);
    });
    return y;
  }
}
