// Job type 'mlp-fusion': compresses the FFNs of chosen layers of a safetensors
// checkpoint by MLP Fusion (k-means over neurons, lib/mlp_fusion) and writes the
// compressed checkpoint (every other tensor copied byte for byte) and a report.
// The checkpoint is read tensor by tensor (openSafetensors), never whole.
import { FrugalError } from '../errors';
import { mlpFusion, type FfnActivation } from '../mlp_fusion';
import { StreamTags, random } from '../random';
import { openSafetensors, safetensorsStream, type SafetensorsEntry, type SafetensorsReader } from '../safetensors';
import { Tensor } from '../tensor';
import type { JobType } from './job';

/** Tensor names of one layer's FFN: templates where `{l}` is the layer index. */
export interface FfnNames {
  W1: string;
  b1: string;
  W2: string;
  b2: string;
  /** The weights are stored transposed (GPT-2's Conv1D: W1 as [d, p], W2 as [p, d]). Default false. */
  transposed?: boolean;
}

/** Config of an 'mlp-fusion' job. */
export interface MlpFusionConfig {
  type: 'mlp-fusion';
  checkpoint: string;
  layers: number[];
  clusters: number;
  /** 'bert' (BERT/RoBERTa, default), 'gpt2', or templates. */
  names: 'bert' | 'gpt2' | FfnNames;
  nInit: number;
  maxIter: number;
  tol: number;
  seed: number;
  /** The activation of the FFN, for the report's error measurement. */
  activation: FfnActivation;
  device: 'cpu' | 'cuda';
  /** The compressed checkpoint. */
  output: string;
}

/** Where each fused layer's cluster sizes n are stored in the output. */
export const COUNTS_NAME = 'mlp_fusion.layer.{l}.counts';

// The presets, each tried with and without its model prefixes.
const PRESETS: Record<'bert' | 'gpt2', { names: FfnNames; prefixes: string[] }> = {
  bert: {
    names: {
      W1: 'encoder.layer.{l}.intermediate.dense.weight', b1: 'encoder.layer.{l}.intermediate.dense.bias',
      W2: 'encoder.layer.{l}.output.dense.weight', b2: 'encoder.layer.{l}.output.dense.bias',
    },
    prefixes: ['', 'roberta.', 'bert.'],
  },
  gpt2: {
    names: { W1: 'h.{l}.mlp.c_fc.weight', b1: 'h.{l}.mlp.c_fc.bias', W2: 'h.{l}.mlp.c_proj.weight', b2: 'h.{l}.mlp.c_proj.bias', transposed: true },
    prefixes: ['', 'transformer.'],
  },
};

/** Tokens of the seeded batch the report measures each fused FFN's error on. */
const PROBE_TOKENS = 64;

type Key = 'W1' | 'b1' | 'W2' | 'b2';
const KEYS: Key[] = ['W1', 'b1', 'W2', 'b2'];

// The four tensor names of layer l in this checkpoint.
function layerNames(config: MlpFusionConfig, reader: SafetensorsReader, l: number): Record<Key, string> & { transposed: boolean } {
  const fill = (names: FfnNames, prefix: string) => {
    const out = {} as Record<Key, string>;
    for (const k of KEYS) out[k] = prefix + names[k].replaceAll('{l}', String(l));
    return { ...out, transposed: names.transposed ?? false };
  };
  if (typeof config.names === 'object') return fill(config.names, '');
  const preset = PRESETS[config.names];
  for (const prefix of preset.prefixes) {
    const named = fill(preset.names, prefix);
    if (reader.has(named.W1)) return named;
  }
  const tried = preset.prefixes.map((p) => `'${fill(preset.names, p).W1}'`).join(', ');
  throw new FrugalError('E_CONFIG', `/layers: layer ${l}: ${config.checkpoint} has none of ${tried} (the '${config.names}' layout)`);
}

function transpose(t: Tensor): Tensor {
  const [r, c] = t.shape, x = t.data, out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j];
  return Tensor.from(out, [c, r]);
}

// One layer's FFN in Linear layout: W1 [p, d], b1 [p], W2 [d, p], b2 [d].
function readFfn(reader: SafetensorsReader, names: ReturnType<typeof layerNames>, file: string) {
  const t = {} as Record<Key, Tensor>;
  for (const k of KEYS) {
    if (!reader.has(names[k])) throw new FrugalError('E_CONFIG', `${file}: no tensor '${names[k]}' (the FFN's ${k})`);
    t[k] = reader.read(names[k]);
  }
  if (names.transposed) {
    if (t.W1.shape.length === 2) t.W1 = transpose(t.W1);
    if (t.W2.shape.length === 2) t.W2 = transpose(t.W2);
  }
  const [p, d] = t.W1.shape;
  const want: Record<Key, number[]> = { W1: [p, d], b1: [p], W2: [d, p], b2: [d] };
  for (const k of KEYS) {
    const s = t[k].shape;
    if (t.W1.shape.length !== 2 || s.length !== want[k].length || s.some((v, i) => v !== want[k][i])) {
      throw new FrugalError('E_CONFIG', `${file}: '${names[k]}' has shape [${s.join(', ')}], the FFN needs ${k} [${want[k].join(', ')}]${names.transposed ? ' (stored transposed)' : ''}`);
    }
  }
  return { ...t, p, d };
}

function relativeError(y: Float32Array, ref: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (y[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/**
 * `frugal run` job 'mlp-fusion'. Example job file:
 * `{ "type": "mlp-fusion", "checkpoint": "roberta-base.safetensors", "layers": [4, 5, 6, 7, 8, 9, 10, 11], "clusters": 768, "output": "fused.safetensors", "report": "fused.json" }`
 * → per layer inertia, iterations, seconds and the fused FFN's relative error, and the parameter counts.
 */
export const mlpFusionJob: JobType<MlpFusionConfig> = {
  type: 'mlp-fusion',
  description: 'Compress the FFNs of chosen layers of a safetensors checkpoint by MLP Fusion (k-means over neurons)',
  resultKey: 'report',
  schema: {
    type: 'object',
    properties: {
      type: { const: 'mlp-fusion' },
      checkpoint: { type: 'string', minLength: 1 },
      layers: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, uniqueItems: true },
      clusters: { type: 'integer', minimum: 1 },
      names: {
        default: 'bert',
        oneOf: [
          { enum: ['bert', 'gpt2'] },
          {
            type: 'object',
            properties: {
              W1: { type: 'string', minLength: 1 }, b1: { type: 'string', minLength: 1 },
              W2: { type: 'string', minLength: 1 }, b2: { type: 'string', minLength: 1 }, transposed: { type: 'boolean' },
            },
            required: ['W1', 'b1', 'W2', 'b2'],
            additionalProperties: false,
          },
        ],
      },
      nInit: { type: 'integer', minimum: 1, maximum: 10000, default: 1 },
      maxIter: { type: 'integer', minimum: 1, default: 300 },
      tol: { type: 'number', minimum: 0, default: 1e-4 },
      seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
      activation: { enum: ['gelu', 'relu'], default: 'gelu' },
      device: { enum: ['cpu', 'cuda'], default: 'cpu' },
      output: { type: 'string', minLength: 1 },
    },
    required: ['type', 'checkpoint', 'layers', 'clusters', 'output'],
    additionalProperties: false,
  },
  outputs: (config) => [config.output],
  async run(config, ctx) {
    const reader = openSafetensors(config.checkpoint);
    let handedOver = false;
    try {
      const replaced = new Map<string, Tensor>();
      const counts: SafetensorsEntry[] = [];
      const report = [];
      let ffnBefore = 0, ffnAfter = 0;
      const order = [...config.layers].sort((a, b) => a - b);
      for (const [index, l] of order.entries()) {
        const names = layerNames(config, reader, l);
        const ffn = readFfn(reader, names, config.checkpoint);
        if (config.clusters > ffn.p) {
          throw new FrugalError('E_CONFIG', `/clusters: ${config.clusters} is more than layer ${l}'s ${ffn.p} neurons`);
        }
        const started = process.hrtime.bigint();
        const fused = await mlpFusion.fuseAsync({
          W1: ffn.W1, b1: ffn.b1, W2: ffn.W2, b2: ffn.b2, clusters: config.clusters, nInit: config.nInit,
          maxIter: config.maxIter, tol: config.tol, seed: config.seed, device: config.device,
          onProgress: (it, inertia, restart) => ctx.progress(
            (index + Math.min(1, (restart * config.maxIter + it) / (config.nInit * config.maxIter))) / order.length,
            `layer ${l}: restart ${restart + 1}/${config.nInit}, iteration ${it}, inertia ${inertia.toPrecision(6)}`),
        });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const x = Tensor.from(random.normal(PROBE_TOKENS * ffn.d, { seed: config.seed, sub: l, tag: StreamTags.parameterInit }), [PROBE_TOKENS, ffn.d]);
        const y = mlpFusion.ffn({ x, W1f: ffn.W1, b1f: ffn.b1, W2f: ffn.W2, b2: ffn.b2, activation: config.activation }).y;
        const yf = mlpFusion.ffn({ x, W1f: fused.W1f, b1f: fused.b1f, W2f: fused.W2f, b2: fused.b2, counts: fused.counts, activation: config.activation }).y;
        replaced.set(names.W1, names.transposed ? transpose(fused.W1f) : fused.W1f);
        replaced.set(names.b1, fused.b1f);
        replaced.set(names.W2, names.transposed ? transpose(fused.W2f) : fused.W2f);
        counts.push({ name: COUNTS_NAME.replace('{l}', String(l)), tensor: fused.counts });
        ffnBefore += 2 * ffn.p * ffn.d + ffn.p;
        ffnAfter += 2 * config.clusters * ffn.d + config.clusters;
        report.push({
          layer: l, W1: names.W1, neurons: ffn.p, d: ffn.d, inertia: fused.inertia, iterations: fused.iterations,
          seconds, relativeError: relativeError(yf.data, y.data),
        });
      }
      let before = 0;
      for (const name of reader.names) before += reader.info(name).shape.reduce((a, b) => a * b, 1);
      const entries: SafetensorsEntry[] = reader.names.map((name) => {
        const tensor = replaced.get(name);
        return tensor ? { name, tensor } : { name, ...reader.info(name), bytes: () => reader.readRaw(name).bytes };
      });
      const metadata = {
        ...reader.metadata, 'frugal.method': 'mlp-fusion', 'frugal.clusters': String(config.clusters),
        'frugal.seed': String(config.seed), 'frugal.layers': order.join(','), 'frugal.counts': COUNTS_NAME,
      };
      const stream = safetensorsStream([...entries, ...counts], metadata);
      ctx.writeFile(config.output, (write) => {
        try {
          stream(write);
        } finally {
          reader.close();
        }
      });
      handedOver = true;
      ctx.progress(1);
      const after = before - ffnBefore + ffnAfter;
      return {
        method: 'mlp-fusion', checkpoint: config.checkpoint, output: config.output, clusters: config.clusters,
        seed: config.seed, device: config.device, layers: report,
        parameters: { before, after, ffnBefore, ffnAfter, counts: config.clusters * order.length },
      };
    } finally {
      if (!handedOver) reader.close();
    }
  },
};
