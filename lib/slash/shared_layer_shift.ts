// Training-side modules of the random-projection family: SharedLayerShift (SLaSh:
// one z shifting every layer's output block) and ReparamPrompt (JR-WARP: z as a
// prompt token). They hold z and its gradient and call the kernels of ops.ts.
import { FrugalError } from '../errors';
import { Tensor, checkDims, checkTensor, hostZeros, zeros, type DeviceName } from '../tensor';
import { type Offsets } from '../packed';
import { checkEnum, checkInt, checkOptions, checkSeed, optionKeys } from '../validate';
import {
  foldShift, project, projectAsync, projectBackward, projectBackwardAsync, promptAdd, promptAddBackward, promptInsert,
  promptInsertBackward, type ProjectionDist, type PromptInsertResult,
} from './ops';

/** Options of {@link SharedLayerShift} and {@link ReparamPrompt}. */
export interface SharedLayerShiftOptions {
  /** Number of transformer layers L. */
  layers: number;
  /** Hidden size H. */
  hidden: number;
  /** Length d of z (default 1024). */
  dim?: number;
  /** Seed of the fixed projections (saved with the task). */
  seed: number | bigint;
  /** Default 'normal'. */
  dist?: ProjectionDist;
  /** Initial z [dim] (default zeros: the backbone's own output at step 0). */
  z?: Tensor;
  /** Where z and the gradients live (default: z's device, else 'cpu'). */
  device?: DeviceName;
}

const OPTION_KEYS = optionKeys<SharedLayerShiftOptions>({ layers: true, hidden: true, dim: true, seed: true, dist: true, z: true, device: true });

/**
 * SLaSh: one trainable vector z (d) and fixed Gaussian W_l (regenerated, never
 * stored) giving every layer a shift b_l = z·W_l added before its output
 * LayerNorm ({@link outputBlock} takes it as `shift`). About d + head parameters
 * per task.
 * @example
 * const shift = new SharedLayerShift({ layers: 12, hidden: 768, seed: 7 });
 * const b = shift.shifts();            // [12, 768], row l is layer l's shift
 * // … forward with slash.outputBlock({ …, shift: row l }), backward gives g [12, 768]
 * shift.backward(g);                    // shift.grad += ∂z
 */
export class SharedLayerShift {
  readonly layers: number;
  readonly hidden: number;
  readonly dim: number;
  readonly seed: bigint;
  readonly dist: ProjectionDist;
  readonly device: DeviceName;
  /** Accumulated ∂z [dim] (see {@link backward}); cleared by {@link zeroGrad}. */
  grad: Tensor;
  /** Accumulated per-sample ∂z [B, dim] from per-sample backward calls, if any. */
  perSampleGrad?: Tensor;
  private zValue: Tensor;

  /**
   * @throws FrugalError E_DTYPE (bad option types), E_RANGE (layers, hidden, dim, seed, dist, device),
   *   E_SHAPE (z not [dim]), E_DEVICE (z cannot be moved to `device`).
   */
  constructor(options: SharedLayerShiftOptions) {
    const o = checkOptions<SharedLayerShiftOptions>(options, 'options', OPTION_KEYS);
    this.layers = checkInt(o.layers, 'options.layers', 0);
    this.hidden = checkInt(o.hidden, 'options.hidden', 0);
    this.dim = o.dim === undefined ? 1024 : checkInt(o.dim, 'options.dim', 1);
    this.seed = checkSeed(o.seed, 'options.seed');
    this.dist = o.dist === undefined ? 'normal' : checkEnum(o.dist, 'options.dist', ['normal', 'rademacher'] as const);
    const z = o.z === undefined ? undefined : checkTensor(o.z, 'options.z');
    this.device = o.device === undefined ? z?.device ?? 'cpu' : checkEnum(o.device, 'options.device', ['cpu', 'cuda'] as const);
    this.zValue = z ? this.checkZ(z, 'options.z') : zeros([this.dim], this.device);
    this.grad = zeros([this.dim], this.device);
  }

  /** The trainable vector [dim]. Update it in place (z.data on the CPU) or swap it with {@link setZ}. */
  get z(): Tensor {
    return this.zValue;
  }

  /**
   * Swaps in another task's z (serving many tasks over one backbone).
   * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (not [dim]), E_DEVICE.
   */
  setZ(z: Tensor): void {
    this.zValue = this.checkZ(checkTensor(z, 'z'), 'z');
  }

  private checkZ(z: Tensor, name: string): Tensor {
    checkDims(z, name, [this.dim]);
    return z.device === this.device ? z : z.to(this.device);
  }

  // What project and projectBackward take for this module's z and its gradients g.
  private projection() {
    return { z: this.zValue, layers: this.layers, hidden: this.hidden, seed: this.seed, dist: this.dist };
  }

  private projectionBackward(g: Tensor) {
    return { g, dim: this.dim, seed: this.seed, dist: this.dist };
  }

  /**
   * Every layer's shift: [L, H], row l = z·W_l.
   * @throws FrugalError as {@link project}.
   */
  shifts(): Tensor {
    return project(this.projection());
  }

  /**
   * {@link shifts} on a worker thread.
   * @throws FrugalError as {@link project} (the promise rejects).
   */
  shiftsAsync(): Promise<Tensor> {
    return projectAsync(this.projection());
  }

  private accumulate(dz: Tensor, perSample: boolean): Tensor {
    if (!perSample) {
      this.grad = foldShift(this.grad, dz);
    } else if (this.perSampleGrad && this.perSampleGrad.shape[0] === dz.shape[0]) {
      this.perSampleGrad = foldShift(this.perSampleGrad, dz);
    } else if (this.perSampleGrad) {
      throw new FrugalError('E_SHAPE', `g: expected ${this.perSampleGrad.shape[0]} samples like the accumulated per-sample gradient, got ${dz.shape[0]} (call zeroGrad() between batches)`);
    } else {
      this.perSampleGrad = dz;
    }
    return dz;
  }

  /**
   * Backward through the projections: g [L, H] (the layers' dShift) adds ∂z to
   * {@link grad}; per-sample g, as one [B, L, H] tensor or as the L layers'
   * dShiftPerSample [B, H] in layer order, adds per-sample ∂z to
   * {@link perSampleGrad} (what DP-SGD clips, e.g. `engine.step([{ rows: shift.perSampleGrad }])`).
   * Returns this call's ∂z ([dim] or [B, dim]).
   * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (g not [L, H] or [B, L, H], per-layer tensors
   *   not [B, H], another B than the accumulated per-sample gradient), E_DEVICE.
   */
  backward(g: Tensor | Tensor[]): Tensor {
    const t = this.gradient(g);
    const dz = projectBackward(this.projectionBackward(t));
    return this.accumulate(dz, t.shape.length === 3);
  }

  /**
   * {@link backward} on a worker thread.
   * @throws FrugalError as {@link backward} (the promise rejects).
   */
  async backwardAsync(g: Tensor | Tensor[]): Promise<Tensor> {
    const t = this.gradient(g);
    const dz = await projectBackwardAsync(this.projectionBackward(t));
    return this.accumulate(dz, t.shape.length === 3);
  }

  // g as one tensor, checked; L per-layer [B, H] tensors are stacked into [B, L, H].
  private gradient(g: Tensor | Tensor[]): Tensor {
    if (!Array.isArray(g)) {
      checkTensor(g, 'g');
      checkDims(g, 'g', g.shape.length === 3 ? [-1, this.layers, this.hidden] : [this.layers, this.hidden]);
      return g;
    }
    if (g.length !== this.layers) {
      throw new FrugalError('E_SHAPE', `g: expected ${this.layers} per-layer tensors [B, ${this.hidden}], got ${g.length}`);
    }
    const L = this.layers, H = this.hidden;
    let B = -1;
    const hosts = g.map((t, l) => {
      checkTensor(t, `g[${l}]`);
      checkDims(t, `g[${l}]`, [B < 0 ? -1 : B, H]);
      B = t.shape[0];
      return t.device === 'cpu' ? t.data : t.to('cpu').data;
    });
    const stacked = hostZeros(Math.max(B, 0) * L * H, 'perSampleGrad');
    hosts.forEach((rows, l) => {
      for (let b = 0; b < B; b++) stacked.set(rows.subarray(b * H, (b + 1) * H), (b * L + l) * H);
    });
    const t = Tensor.from(stacked, [Math.max(B, 0), L, H]);
    return this.device === 'cpu' ? t : t.to(this.device);
  }

  /** Clears {@link grad} and drops {@link perSampleGrad}. */
  zeroGrad(): void {
    this.grad = zeros([this.dim], this.device);
    this.perSampleGrad = undefined;
  }

  /**
   * Inference: each layer's output bias with its shift folded in (c_l + z·W_l),
   * so the served layer is a plain linear layer. Takes the biases as one [L, H]
   * tensor (returns one) or as L tensors of [H] (returns L).
   * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (not [L, H] or L tensors of [H]), E_DEVICE.
   */
  foldInto(biases: Tensor | Tensor[]): Tensor | Tensor[] {
    const shifts = this.shifts();
    if (biases instanceof Tensor) {
      checkDims(biases, 'biases', [this.layers, this.hidden]);
      return foldShift(biases, shifts);
    }
    if (!Array.isArray(biases) || biases.length !== this.layers) {
      throw new FrugalError('E_SHAPE', `biases: expected a [${this.layers}, ${this.hidden}] Tensor or ${this.layers} Tensors of [${this.hidden}], got ${Array.isArray(biases) ? `${biases.length} tensors` : typeof biases}`);
    }
    return biases.map((c, l) => {
      checkTensor(c, `biases[${l}]`);
      checkDims(c, `biases[${l}]`, [this.hidden]);
      return foldShift(c, layerRow(shifts, l, c.device));
    });
  }
}

/** Row l of a [L, H] tensor as a [H] tensor on `device` (a view on the CPU). */
function layerRow(t: Tensor, l: number, device: DeviceName): Tensor {
  const H = t.shape[1];
  const host = t.device === 'cpu' ? t.data : t.to('cpu').data;
  const row = Tensor.from(host.subarray(l * H, (l + 1) * H), [H]);
  return device === 'cpu' ? row : row.to(device);
}

/**
 * JR-WARP: z·W_1 enters as a prompt token prepended to every sample, and z·W_l
 * (l ≥ 2) is added to the prompt position of layer l's input. Call
 * {@link beginStep} once per forward, the prompt ops in forward order, their
 * backward forms in reverse, then {@link finishBackward} to add ∂z to `grad`.
 * Layer indices are 0-based here: layer 0's shift is the prompt token itself.
 * @example
 * const jr = new ReparamPrompt({ layers: 12, hidden: 768, seed: 7 });
 * jr.beginStep();
 * const { out, offsets: withPrompt } = jr.insert(x, offsets);      // layer 0 input
 * jr.add(1, h1, withPrompt);                                        // layer 1 input
 * // … backward …
 * jr.addBackward(1, dh1, withPrompt);
 * const dx = jr.insertBackward(dout, offsets);
 * jr.finishBackward();                                              // jr.grad += ∂z
 */
export class ReparamPrompt extends SharedLayerShift {
  private current?: Tensor;
  private pending?: Float32Array;

  /**
   * Projects z once for this step's forward (all layers' prompt vectors).
   * @throws FrugalError as {@link project}.
   */
  beginStep(): void {
    this.current = this.shifts();
    this.pending = hostZeros(this.layers * this.hidden, 'SharedLayerShift gradients');
  }

  private row(l: number): Tensor {
    if (!this.current) throw new FrugalError('E_CONFIG', 'ReparamPrompt: call beginStep() before the prompt ops of a step');
    checkInt(l, 'layer', 0, this.layers - 1);
    return layerRow(this.current, l, this.device);
  }

  private collect(l: number, dPrompt: Tensor): void {
    const host = dPrompt.device === 'cpu' ? dPrompt.data : dPrompt.to('cpu').data;
    const g = this.pending!;
    for (let j = 0; j < this.hidden; j++) g[l * this.hidden + j] += host[j];
  }

  /**
   * Prepends the prompt token (layer 0's z·W) to every sample of x [total, H].
   * @throws FrugalError E_CONFIG (no {@link beginStep}), and as {@link promptInsert}.
   */
  insert(x: Tensor, offsets: Offsets): PromptInsertResult {
    return promptInsert(x, this.row(0), offsets);
  }

  /**
   * Backward of {@link insert}: returns dx without the prompt rows; keeps their sum for ∂z.
   * @throws FrugalError E_CONFIG (no {@link beginStep}), and as {@link promptInsertBackward}.
   */
  insertBackward(dout: Tensor, offsets: Offsets): Tensor {
    this.row(0);
    const { dx, dPrompt } = promptInsertBackward(dout, offsets);
    this.collect(0, dPrompt);
    return dx;
  }

  /**
   * Adds layer l's z·W_l (l ≥ 1) to the prompt rows of x in place (offsets with prompts).
   * @throws FrugalError E_RANGE (layer not in 1 … L−1), E_CONFIG (no {@link beginStep}), and as {@link promptAdd}.
   */
  add(layer: number, x: Tensor, offsets: Offsets): Tensor {
    if (layer === 0) throw new FrugalError('E_RANGE', 'layer: expected 1 … L−1 (layer 0 is the inserted prompt), got 0');
    return promptAdd(x, this.row(layer), offsets);
  }

  /**
   * Backward of {@link add}: the prompt rows' gradient sum for ∂z (dx itself passes through).
   * @throws FrugalError E_RANGE (layer not in 1 … L−1), E_CONFIG (no {@link beginStep}), and as {@link promptAddBackward}.
   */
  addBackward(layer: number, dx: Tensor, offsets: Offsets): void {
    if (layer === 0) throw new FrugalError('E_RANGE', 'layer: expected 1 … L−1 (layer 0 is the inserted prompt), got 0');
    this.row(layer);
    this.collect(layer, promptAddBackward(dx, offsets));
  }

  /**
   * Projects the collected prompt gradients into ∂z (added to `grad`) and returns it.
   * @throws FrugalError E_CONFIG (no {@link beginStep}), and as {@link backward}.
   */
  finishBackward(): Tensor {
    if (!this.pending) throw new FrugalError('E_CONFIG', 'ReparamPrompt: finishBackward() without beginStep()');
    const g = Tensor.from(this.pending, [this.layers, this.hidden]);
    this.pending = undefined;
    this.current = undefined;
    return this.backward(this.device === 'cpu' ? g : g.to(this.device));
  }
}
