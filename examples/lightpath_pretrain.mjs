// LightPath pre-training in a few steps (Yang et al., KDD 2023): paths of road
// edges lose 70% and 80% of their edges (two views), the encoder sees the kept
// edges only, the decoder reconstructs the removed edges' embeddings, and a plain
// SGD step updates both. Build first, then run:
//
//   npx tsc -p tsconfig.json && node examples/lightpath_pretrain.mjs
//
// The road network is a ring of EDGES edges and a path is a walk along it, so a
// removed edge can be told from its neighbours. The edge-embedding table is fixed
// input features (LightPath starts from pre-trained edge embeddings); the step's
// dTokens would carry the gradient into a trainable table instead.
import frugal from '../dist/lib/index.js';
import encoderModule from '../dist/lib/path_attention/encoder.js';
import decoderModule from '../dist/lib/path_attention/decoder.js';
import lightpathModule from '../dist/lib/path_attention/lightpath.js';

const { Tensor, random } = frugal;
const { PathEncoder } = encoderModule;
const { PathDecoder } = decoderModule;
const { lightpath } = lightpathModule;

const EDGES = 500, DIM = 64, HEADS = 4, DEPTH = 4, PATHS = 32, STEPS = 20, LR = 0.05;

// The edge-embedding table [EDGES, DIM] and the paths: a random start and length in [10, 50].
const table = random.normal(EDGES * DIM, { seed: 1, tag: random.tags.parameterInit, sub: 1000 });
const draws = random.uniform(2 * PATHS, { seed: 2, tag: random.tags.batchSampling });
const lengths = Array.from({ length: PATHS }, (_, b) => 10 + Math.floor(41 * draws[2 * b]));
const starts = Array.from({ length: PATHS }, (_, b) => Math.floor(EDGES * draws[2 * b + 1]));
const lengthsOffsets = Int32Array.from([0, ...lengths.map((_, b) => lengths.slice(0, b + 1).reduce((a, L) => a + L, 0))]);

// tokens = the edges' embeddings plus sinusoidal positions (the decoder gets the positions too).
const positions = lightpath.sinusoidalPositions(lengthsOffsets, DIM);
const tokens = Tensor.from(new Float32Array(lengthsOffsets[PATHS] * DIM), [lengthsOffsets[PATHS], DIM]);
lengths.forEach((L, b) => {
  for (let p = 0; p < L; p++) {
    const edge = (starts[b] + p) % EDGES, row = lengthsOffsets[b] + p;
    for (let d = 0; d < DIM; d++) tokens.data[row * DIM + d] = table[edge * DIM + d] + positions.data[row * DIM + d];
  }
});

const encoder = new PathEncoder({ dim: DIM, heads: HEADS, depth: DEPTH, seed: 0 });
const decoder = new PathDecoder({ dim: DIM, heads: HEADS, seed: 0 });

// Plain SGD: p -= LR · grad, in place on the live parameters.
function sgd(module) {
  for (const [name, p] of Object.entries(module.parameters())) {
    const g = module.grads[name].data;
    for (let i = 0; i < g.length; i++) p.data[i] -= LR * g[i];
  }
}

console.log(`${PATHS} paths of ${lengths.reduce((a, L) => a + L, 0)} edges, encoder ${DEPTH} × width ${DIM}, ratios 0.7 and 0.8`);
for (let step = 0; step < STEPS; step++) {
  encoder.zeroGrad();
  decoder.zeroGrad();
  const { losses, views } = lightpath.pretrainStep({ encoder, decoder, tokens, lengthsOffsets, seed: step, positions });
  sgd(encoder);
  sgd(decoder);
  const kept = views.map((v) => v.offsets[PATHS]).join(' / ');
  console.log(`step ${String(step).padStart(2)}: loss r=0.7 ${losses[0].toFixed(4)}, r=0.8 ${losses[1].toFixed(4)} (kept ${kept} edges)`);
}
