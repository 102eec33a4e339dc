// Job type 'path-encode': LightPath representations of road paths. Reads paths of
// edge ids (JSON or a binary file), looks each edge up in an embedding table
// (safetensors), optionally removes a ratio of each path's edges (pathAttention.keep),
// runs a saved PathEncoder over the packed kept tokens batch by batch, and writes the
// CLS representations [B, dim] as safetensors.
import * as fs from 'node:fs';

import { FrugalError } from '../errors';
import { PathEncoder } from '../path_attention/encoder';
import { pathAttention } from '../path_attention/ops';
import { encodeSafetensors, loadSafetensors } from '../safetensors';
import { Tensor } from '../tensor';
import type { JobType } from './job';

/** Config of a 'path-encode' job. */
export interface PathEncodeConfig {
  type: 'path-encode';
  /** `.json`: an array of edge-id arrays (or `{ "paths": [...] }`); otherwise binary (see {@link readPaths}). */
  paths: string;
  /** safetensors holding the edge-embedding table [edges, dim]. */
  embeddings: string;
  /** The table's tensor name; default: the file's only tensor. */
  embeddingName?: string;
  /** A PathEncoder saved with `encoder.save(file)`. */
  encoder: string;
  /** Fraction of each path's edges removed before encoding (0: the full path). */
  ratio: number;
  seed: number;
  /** Paths per encoder call. */
  batchSize: number;
  /** The representations, safetensors: `cls` [B, dim]. */
  representations: string;
}

/**
 * Paths from a file: JSON (an array of arrays of edge ids, or an object with such a
 * `paths` field), or binary little-endian int32: B, then the B path lengths, then
 * every path's edge ids one after another.
 * @throws FrugalError E_CONFIG (unreadable, malformed, or an id that is not an integer >= 0).
 */
export function readPaths(file: string): { lengths: Int32Array; edges: Int32Array } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new FrugalError('E_CONFIG', `/paths: cannot read ${file}: ${(err as Error).message}`);
  }
  if (file.endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new FrugalError('E_CONFIG', `/paths: ${file} is not JSON: ${(err as Error).message}`);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { paths?: unknown } | null)?.paths;
    if (!Array.isArray(list)) throw new FrugalError('E_CONFIG', `/paths: ${file}: expected an array of edge-id arrays or { "paths": [...] }`);
    const lengths = new Int32Array(list.length);
    const edges: number[] = [];
    list.forEach((path, b) => {
      if (!Array.isArray(path)) throw new FrugalError('E_CONFIG', `/paths: ${file}: path ${b} is not an array`);
      lengths[b] = path.length;
      for (const id of path) edges.push(id as number);
    });
    return { lengths, edges: checkIds(edges, file) };
  }
  if (bytes.length % 4 !== 0 || bytes.length < 4) throw new FrugalError('E_CONFIG', `/paths: ${file}: expected little-endian int32 values, got ${bytes.length} bytes`);
  const words = new Int32Array(bytes.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = bytes.readInt32LE(4 * i);
  const B = words[0];
  if (B < 0 || 1 + B > words.length) throw new FrugalError('E_CONFIG', `/paths: ${file}: a count of ${B} paths does not fit its ${words.length} values`);
  const lengths = words.slice(1, 1 + B);
  const total = lengths.reduce((a, L) => a + L, 0);
  if (lengths.some((L) => L < 0) || 1 + B + total !== words.length) {
    throw new FrugalError('E_CONFIG', `/paths: ${file}: the lengths (${total} edges) do not match the ${words.length - 1 - B} ids after them`);
  }
  return { lengths, edges: checkIds(Array.from(words.subarray(1 + B)), file) };
}

function checkIds(ids: unknown[], file: string): Int32Array {
  const bad = ids.findIndex((id) => typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 2 ** 31 - 1);
  if (bad >= 0) throw new FrugalError('E_CONFIG', `/paths: ${file}: edge id ${bad} is ${JSON.stringify(ids[bad])}, expected an integer >= 0`);
  return Int32Array.from(ids as number[]);
}

/**
 * `frugal run` job 'path-encode'. Example job file:
 * `{ "type": "path-encode", "paths": "paths.json", "embeddings": "edges.safetensors", "encoder": "encoder.safetensors", "ratio": 0, "representations": "cls.safetensors", "output": "encode.json" }`
 * → `{ "paths": 1000, "tokens": 41230, "kept": 41230, "dim": 128, "seconds": 1.9 }`.
 */
export const pathEncodeJob: JobType<PathEncodeConfig> = {
  type: 'path-encode',
  description: 'LightPath CLS representations of road paths through a saved PathEncoder',
  schema: {
    type: 'object',
    properties: {
      type: { const: 'path-encode' },
      paths: { type: 'string', minLength: 1 },
      embeddings: { type: 'string', minLength: 1 },
      embeddingName: { type: 'string', minLength: 1 },
      encoder: { type: 'string', minLength: 1 },
      ratio: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0 },
      seed: { type: 'integer', minimum: 0, default: 0 },
      batchSize: { type: 'integer', minimum: 1, default: 256 },
      representations: { type: 'string', minLength: 1 },
    },
    required: ['type', 'paths', 'embeddings', 'encoder', 'representations'],
    additionalProperties: false,
  },
  outputs: (config) => [config.representations],
  async run(config, ctx) {
    const started = performance.now();
    ctx.progress(0, 'loading');
    const { lengths, edges } = readPaths(config.paths);
    const table = embeddingTable(config);
    const [rows, dim] = table.shape;
    const encoder = PathEncoder.load(config.encoder);
    if (encoder.dim !== dim) {
      throw new FrugalError('E_CONFIG', `/embeddings: the table's width ${dim} is not the encoder's ${encoder.dim}`);
    }
    const far = edges.findIndex((id) => id >= rows);
    if (far >= 0) throw new FrugalError('E_CONFIG', `/paths: edge id ${edges[far]} is outside the table's ${rows} rows`);
    // Every path's kept edges at once (the same positions whatever the batch size).
    const { keep, offsets } = pathAttention.keep(lengths, { ratio: config.ratio, seed: config.seed });
    const starts = new Int32Array(lengths.length + 1);
    lengths.forEach((L, b) => { starts[b + 1] = starts[b] + L; });
    const B = lengths.length;
    const cls = new Float32Array(B * dim);
    for (let b0 = 0; b0 < B; b0 += config.batchSize) {
      const b1 = Math.min(B, b0 + config.batchSize);
      const tokens = new Float32Array((offsets[b1] - offsets[b0]) * dim);
      for (let b = b0; b < b1; b++) {
        for (let j = offsets[b]; j < offsets[b + 1]; j++) {
          const id = edges[starts[b] + keep[j]];
          tokens.set(table.data.subarray(id * dim, (id + 1) * dim), (j - offsets[b0]) * dim);
        }
      }
      const batchOffsets = offsets.slice(b0, b1 + 1).map((o) => o - offsets[b0]);
      const out = encoder.forward(Tensor.from(tokens, [offsets[b1] - offsets[b0], dim]), batchOffsets);
      cls.set(out.cls.data, b0 * dim);
      ctx.progress(b1 / B, `${b1}/${B} paths`);
    }
    ctx.writeFile(config.representations, encodeSafetensors({ cls: Tensor.from(cls, [B, dim]) }, {
      'frugal.method': 'lightpath-encode', 'frugal.ratio': String(config.ratio), 'frugal.seed': String(config.seed),
    }));
    return { paths: B, tokens: starts[B], kept: offsets[B], dim, seconds: +((performance.now() - started) / 1000).toFixed(3) };
  },
};

function embeddingTable(config: PathEncodeConfig): Tensor {
  const { tensors } = loadSafetensors(config.embeddings);
  const names = Object.keys(tensors);
  const name = config.embeddingName ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) {
    throw new FrugalError('E_CONFIG', `/embeddingName: ${config.embeddings} holds ${names.length} tensors (${names.slice(0, 5).join(', ')}…): name the table`);
  }
  const t = tensors[name];
  if (!t) throw new FrugalError('E_CONFIG', `/embeddingName: ${config.embeddings} has no tensor '${name}'`);
  if (t.shape.length !== 2) throw new FrugalError('E_CONFIG', `/embeddings: '${name}' must be [edges, dim], got [${t.shape.join(', ')}]`);
  return t;
}
