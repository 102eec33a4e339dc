// Job 'mlp-fusion' end to end through `frugal run`, on small generated checkpoints:
// BERT layout with the RoBERTa prefix (an F16 tensor copied byte for byte), GPT-2's
// transposed layout, and the refusals (missing tensor, too many clusters, a dtype
// it cannot read), each leaving no output behind.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, mlpFusion, openSafetensors, writeSafetensors, type SafetensorsEntry } from '../lib';
import { runJobFile, seededFloats } from './helpers';

const d = 32, p = 128, layers = 4;

function bertCheckpoint(file: string, prefix: string): void {
  const entries: SafetensorsEntry[] = [
    // An F16 tensor the job must copy as it is (0x3c00 = 1.0).
    { name: `${prefix}embeddings.word_embeddings.weight`, dtype: 'F16', shape: [10, d], bytes: new Uint8Array(new Uint16Array(10 * d).fill(0x3c00).buffer) },
  ];
  for (let l = 0; l < layers; l++) {
    const L = `${prefix}encoder.layer.${l}`;
    entries.push(
      { name: `${L}.intermediate.dense.weight`, tensor: Tensor.from(seededFloats(p * d, 10 * l + 1, 0.1), [p, d]) },
      { name: `${L}.intermediate.dense.bias`, tensor: Tensor.from(seededFloats(p, 10 * l + 2, 0.1), [p]) },
      { name: `${L}.output.dense.weight`, tensor: Tensor.from(seededFloats(d * p, 10 * l + 3, 0.1), [d, p]) },
      { name: `${L}.output.dense.bias`, tensor: Tensor.from(seededFloats(d, 10 * l + 4, 0.1), [d]) },
    );
  }
  writeSafetensors(file, entries, { format: 'pt' });
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-mlp-fusion-'));

test('BERT layout: fused layers replaced, counts added, the rest copied byte for byte, report written', (t) => {
  const dir = tmp();
  const checkpoint = path.join(dir, 'model.safetensors'), output = path.join(dir, 'fused.safetensors'), report = path.join(dir, 'fused.json');
  bertCheckpoint(checkpoint, 'roberta.');
  const r = runJobFile(dir, { type: 'mlp-fusion', checkpoint, layers: [3, 1], clusters: 32, seed: 4, output, report });
  t.is(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(report, 'utf8'));
  t.deepEqual(rep.layers.map((x: { layer: number }) => x.layer), [1, 3]);
  for (const x of rep.layers) {
    t.true(x.iterations >= 1 && x.seconds >= 0 && x.inertia > 0);
    t.true(x.relativeError > 0 && x.relativeError < 1, String(x.relativeError));
  }
  t.is(rep.parameters.ffnBefore, 2 * (2 * p * d + p));
  t.is(rep.parameters.ffnAfter, 2 * (2 * 32 * d + 32));
  t.is(rep.parameters.before - rep.parameters.after, rep.parameters.ffnBefore - rep.parameters.ffnAfter);

  const src = openSafetensors(checkpoint), out = openSafetensors(output);
  try {
    t.is(out.metadata['frugal.method'], 'mlp-fusion');
    t.is(out.metadata['frugal.clusters'], '32');
    t.is(out.metadata.format, 'pt');
    t.deepEqual(out.info('roberta.encoder.layer.1.intermediate.dense.weight').shape, [32, d]);
    t.deepEqual(out.info('roberta.encoder.layer.3.output.dense.weight').shape, [d, 32]);
    t.deepEqual(out.info('mlp_fusion.layer.3.counts').shape, [32]);
    t.is(out.read('mlp_fusion.layer.1.counts').data.reduce((a, b) => a + b, 0), p);
    for (const name of src.names) {
      if (/layer\.[13]\.(intermediate|output)\.dense\.(weight|bias)$/.test(name) && !/output\.dense\.bias$/.test(name)) continue;
      t.deepEqual(out.readRaw(name), src.readRaw(name), name);
    }
    // The same fusion as the API's, from the same seed.
    const W1 = src.read('roberta.encoder.layer.1.intermediate.dense.weight');
    const api = mlpFusion.fuse({
      W1, b1: src.read('roberta.encoder.layer.1.intermediate.dense.bias'), W2: src.read('roberta.encoder.layer.1.output.dense.weight'),
      b2: src.read('roberta.encoder.layer.1.output.dense.bias'), clusters: 32, seed: 4,
    });
    t.deepEqual(out.read('roberta.encoder.layer.1.intermediate.dense.weight').data, api.W1f.data);
    t.is(api.inertia, rep.layers[0].inertia);
  } finally {
    src.close();
    out.close();
  }
});

test('GPT-2 layout: Conv1D weights are read and written transposed', (t) => {
  const dir = tmp();
  const checkpoint = path.join(dir, 'gpt2.safetensors'), output = path.join(dir, 'out.safetensors');
  const fc = seededFloats(d * p, 1, 0.1), proj = seededFloats(p * d, 2, 0.1);
  writeSafetensors(checkpoint, [
    { name: 'h.0.mlp.c_fc.weight', tensor: Tensor.from(fc, [d, p]) },
    { name: 'h.0.mlp.c_fc.bias', tensor: Tensor.from(seededFloats(p, 3), [p]) },
    { name: 'h.0.mlp.c_proj.weight', tensor: Tensor.from(proj, [p, d]) },
    { name: 'h.0.mlp.c_proj.bias', tensor: Tensor.from(seededFloats(d, 4), [d]) },
  ]);
  const r = runJobFile(dir, { type: 'mlp-fusion', checkpoint, layers: [0], clusters: p, names: 'gpt2', output });
  t.is(r.status, 0, r.stderr);
  const out = openSafetensors(output);
  try {
    t.deepEqual(out.info('h.0.mlp.c_fc.weight').shape, [d, p]);
    // K = p: every neuron is its own cluster, so the columns are those of the input, permuted.
    const got = out.read('h.0.mlp.c_fc.weight').data;
    const column = (x: Float32Array, j: number) => Array.from({ length: d }, (_, i) => x[i * p + j]).join();
    const columns = (x: Float32Array) => Array.from({ length: p }, (_, j) => column(x, j)).sort();
    t.deepEqual(columns(got), columns(fc));
  } finally {
    out.close();
  }
});

test('refusals name the problem and leave no output', (t) => {
  const dir = tmp();
  const checkpoint = path.join(dir, 'model.safetensors'), output = path.join(dir, 'never.safetensors');
  bertCheckpoint(checkpoint, '');
  const fail = (job: object, text: RegExp) => {
    const r = runJobFile(dir, { type: 'mlp-fusion', checkpoint, output, ...job });
    t.not(r.status, 0);
    t.regex(r.stderr, text);
    t.false(fs.existsSync(output));
  };
  fail({ layers: [7], clusters: 8 }, /layer 7: .* has none of 'encoder\.layer\.7\.intermediate\.dense\.weight'/);
  fail({ layers: [0], clusters: p + 1 }, /\/clusters: 129 is more than layer 0's 128 neurons/);
  fail({ layers: [0], clusters: 8, names: { W1: 'x.{l}', b1: 'y', W2: 'z', b2: 'w' } }, /no tensor 'x\.0'/);
  fail({ layers: [0], clusters: 8, nInit: 0 }, /nInit/);
  fail({ layers: [], clusters: 8 }, /layers/);
  const int8 = path.join(dir, 'int8.safetensors');
  writeSafetensors(int8, [
    { name: 'encoder.layer.0.intermediate.dense.weight', dtype: 'I8', shape: [p, d], bytes: new Uint8Array(p * d) },
  ]);
  const r = runJobFile(dir, { type: 'mlp-fusion', checkpoint: int8, layers: [0], clusters: 8, output });
  t.not(r.status, 0);
  t.regex(r.stderr, /encoder\.layer\.0\.intermediate\.dense\.weight.*I8|I8.*encoder\.layer\.0\.intermediate\.dense\.weight/);
  t.false(fs.existsSync(output));
});
