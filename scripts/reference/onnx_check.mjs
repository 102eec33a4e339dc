// Loads each EGE-UNet ONNX export in bench/onnx with onnxruntime-node, runs it on a fixed
// pseudo-random input and prints the median wall time of RUNS runs (default 20) after 2 warm-ups.
//
//   node scripts/reference/onnx_check.mjs [--threads 2] [--runs 20] [--level all|extended|basic|disabled]
//       [--dump DIR] [--opt-dir DIR] [names...]
//
// --dump DIR    writes each model's inputs and outputs as raw little-endian float32 (<name>.<tensor>.f32)
//               plus <name>.json (shapes), for `egeunet.py --verify-dump DIR` to compare with PyTorch.
// --opt-dir DIR saves ORT's optimized graph (<name>.opt.onnx) to see what it folded at load.
// Inputs: x_i = sin(0.37 * i + 0.5 * k) for the k-th input, a fixed pattern both sides can rebuild.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

process.env.ORT_DISABLE_TELEMETRY ??= '1';
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const MODELS = {
  ghpa_32_48_b8_32x32: { x: [8, 32, 32, 32] },
  ghpa_24_32_b8_64x64: { x: [8, 24, 64, 64] },
  gab_48_32_b8_32x32: { xh: [8, 48, 16, 16], xl: [8, 32, 32, 32], mask: [8, 1, 32, 32] },
  egeunet_b1_256: { x: [1, 3, 256, 256] },
  egeunet_b8_256: { x: [8, 3, 256, 256] },
};

const argv = process.argv.slice(2);
const opt = { threads: 2, runs: 20, dump: null, optDir: null, level: 'all', names: [] };
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--threads') opt.threads = Number(argv[++i]);
  else if (argv[i] === '--runs') opt.runs = Number(argv[++i]);
  else if (argv[i] === '--dump') opt.dump = argv[++i];
  else if (argv[i] === '--opt-dir') opt.optDir = argv[++i];
  else if (argv[i] === '--level') opt.level = argv[++i];
  else opt.names.push(argv[i]);
}
const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bench', 'onnx');
const names = opt.names.length ? opt.names : Object.keys(MODELS);

function pattern(n, k) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(0.37 * i + 0.5 * k);
  return a;
}

for (const name of names) {
  const shapes = MODELS[name];
  const so = { intraOpNumThreads: opt.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: opt.level };
  if (opt.optDir) { fs.mkdirSync(opt.optDir, { recursive: true }); so.optimizedModelFilePath = path.join(opt.optDir, name + '.opt.onnx'); }
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(path.join(dir, name + '.onnx'), so);
  const tLoad = performance.now() - t0;
  const feeds = {};
  Object.entries(shapes).forEach(([k, s], idx) => {
    feeds[k] = new ort.Tensor('float32', pattern(s.reduce((p, q) => p * q, 1), idx), s);
  });
  let out;
  for (let i = 0; i < 2; i++) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < opt.runs; i++) {
    const t = performance.now();
    out = await session.run(feeds);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const med = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  const outs = session.outputNames.map((k) => `${k}[${out[k].dims.join(',')}]`).join(' ');
  let finite = true;
  for (const k of session.outputNames) for (const v of out[k].data) if (!Number.isFinite(v)) { finite = false; break; }
  console.log(`${name}: median ${med.toFixed(2)} ms, min ${times[0].toFixed(2)} ms over ${opt.runs} runs `
    + `(${opt.threads} threads, load ${tLoad.toFixed(0)} ms); outputs ${outs}${finite ? '' : ' NON-FINITE'}`);
  if (opt.dump) {
    fs.mkdirSync(opt.dump, { recursive: true });
    const meta = { inputs: {}, outputs: {} };
    for (const [k, t] of Object.entries(feeds)) {
      fs.writeFileSync(path.join(opt.dump, `${name}.${k}.f32`), Buffer.from(t.data.buffer));
      meta.inputs[k] = t.dims;
    }
    for (const k of session.outputNames) {
      fs.writeFileSync(path.join(opt.dump, `${name}.${k}.f32`), Buffer.from(out[k].data.buffer, out[k].data.byteOffset, out[k].data.byteLength));
      meta.outputs[k] = out[k].dims;
    }
    fs.writeFileSync(path.join(opt.dump, `${name}.json`), JSON.stringify(meta));
  }
}
