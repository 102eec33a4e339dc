// Job 'path-encode' end to end through `frugal run`: paths from JSON and from the
// binary format, a saved encoder and an edge table; the CLS rows equal the encoder's
// own forward on the same kept edges; bad inputs refused with no output left behind.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PathEncoder, Tensor, loadSafetensors, pathAttention, saveSafetensors } from '../lib';
import { runJobFile, seededFloats } from './helpers';

const dim = 16, edgesInTable = 40;
const paths = [[1, 2, 3, 4, 5, 6, 7], [9], [], [30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 0, 1]];

function setUp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-path-encode-'));
  const encoder = new PathEncoder({ dim, heads: 2, depth: 2, seed: 3 });
  const files = { dir, encoder: path.join(dir, 'encoder.safetensors'), embeddings: path.join(dir, 'edges.safetensors'), json: path.join(dir, 'paths.json') };
  encoder.save(files.encoder);
  const table = Tensor.from(seededFloats(edgesInTable * dim, 5), [edgesInTable, dim]);
  saveSafetensors(files.embeddings, { edge_embedding: table });
  fs.writeFileSync(files.json, JSON.stringify(paths));
  return { ...files, encoder: files.encoder, model: encoder, table };
}

// What the job must produce: the encoder's CLS on the kept edges' embeddings.
function expected(model: PathEncoder, table: Tensor, ratio: number, seed: number): Float32Array {
  const lengths = paths.map((p) => p.length);
  const { keep, offsets } = pathAttention.keep(lengths, { ratio, seed });
  const tokens = new Float32Array(offsets[paths.length] * dim);
  paths.forEach((p, b) => {
    for (let j = offsets[b]; j < offsets[b + 1]; j++) tokens.set(table.data.subarray(p[keep[j]] * dim, (p[keep[j]] + 1) * dim), j * dim);
  });
  return model.forward(Tensor.from(tokens, [offsets[paths.length], dim]), offsets).cls.data;
}

test('JSON and binary paths give the encoder\'s CLS rows, in batches, with the kept edges of the ratio', (t) => {
  const s = setUp();
  const representations = path.join(s.dir, 'cls.safetensors'), output = path.join(s.dir, 'result.json');
  const r = runJobFile(s.dir, { type: 'path-encode', paths: s.json, embeddings: s.embeddings, encoder: s.encoder, ratio: 0.5, seed: 2, batchSize: 3, representations, output });
  t.is(r.status, 0, r.stderr);
  const result = JSON.parse(fs.readFileSync(output, 'utf8'));
  t.is(result.paths, 4);
  t.is(result.tokens, 20);
  t.is(result.kept, 3 + 1 + 0 + 6);
  const { tensors, metadata } = loadSafetensors(representations);
  t.deepEqual(tensors.cls.shape, [4, dim]);
  t.is(metadata['frugal.ratio'], '0.5');
  const want = expected(s.model, s.table, 0.5, 2);
  for (let i = 0; i < want.length; i++) t.true(Math.abs(tensors.cls.data[i] - want[i]) <= 1e-5, `cls ${i}`);

  // The binary format: B, the lengths, then the ids (little-endian int32), ratio 0.
  const bin = path.join(s.dir, 'paths.bin');
  const words = [paths.length, ...paths.map((p) => p.length), ...paths.flat()];
  const buf = Buffer.alloc(4 * words.length);
  words.forEach((w, i) => buf.writeInt32LE(w, 4 * i));
  fs.writeFileSync(bin, buf);
  const full = path.join(s.dir, 'full.safetensors');
  t.is(runJobFile(s.dir, { type: 'path-encode', paths: bin, embeddings: s.embeddings, encoder: s.encoder, representations: full }).status, 0);
  const wantFull = expected(s.model, s.table, 0, 0);
  const got = loadSafetensors(full).tensors.cls.data;
  for (let i = 0; i < wantFull.length; i++) t.true(Math.abs(got[i] - wantFull[i]) <= 1e-5, `full cls ${i}`);
});

test('bad paths, tables and encoders are refused and leave no output', (t) => {
  const s = setUp();
  const representations = path.join(s.dir, 'cls.safetensors');
  const run = (job: object) => runJobFile(s.dir, { type: 'path-encode', encoder: s.encoder, embeddings: s.embeddings, paths: s.json, representations, ...job });
  const bad = path.join(s.dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify([[1, 2], [3, 99]]));
  const cases: Array<[object, RegExp]> = [
    [{ paths: bad }, /edge id 99 is outside the table's 40 rows/],
    [{ paths: path.join(s.dir, 'missing.json') }, /cannot read/],
    [{ ratio: 1 }, /ratio/],
    [{ embeddingName: 'nope' }, /no tensor 'nope'/],
    [{ encoder: s.embeddings }, /encoder|PathEncoder/i],
  ];
  fs.writeFileSync(path.join(s.dir, 'ids.json'), JSON.stringify([[1, -2]]));
  cases.push([{ paths: path.join(s.dir, 'ids.json') }, /expected an integer >= 0/]);
  for (const [job, message] of cases) {
    const r = run(job);
    t.not(r.status, 0, JSON.stringify(job));
    t.regex(r.stderr, message, JSON.stringify(job));
    t.false(fs.existsSync(representations), JSON.stringify(job));
  }
});
