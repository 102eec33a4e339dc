// The pointwise (1×1) conv kernels over the vector wrapper, compiled per ISA by
// x86/feature_map_<isa>.cc: the forward's register tile (also the dx of the
// backward, with the weights transposed) and the weight-gradient dot tile.
//
// Forward: a chunk of kPwCols pixels of every input channel is copied into a
// dense on-stack array first. The C rows of a chunk sit hw floats apart in x,
// and when hw·4 bytes is a multiple of 4 KiB every one maps to the same L1 sets:
// with more channels than the L1 has ways each output tile after the first
// would reread them from L2. The tiles then read the copy. Every output sums
// bias + Σ_i w·x in input-channel order, whatever the tile.

// Output channels × pixel vectors of the forward tile: 4 × 4 vectors on
// AVX-512 (16 accumulators, 4 loads and 4 broadcasts per 16 FMAs, of 32
// registers), 4 × 2 on AVX2 (of 16).
constexpr int kPwRows = 4;
constexpr int kPwVecs = kLanes >= 16 ? 4 : 2;
constexpr int64_t kPwCols = kPwVecs * kLanes;
// Floats of the forward's copy of a chunk (channel counts beyond it read x in place).
constexpr int64_t kPwCopyFloats = 8192;

inline void StorePointwise(F pre_value, bool gelu, float* y, float* pre, Mask m, bool full) {
  if (pre) StoreAny(pre, m, full, pre_value);
  StoreAny(y, m, full, gelu ? Gelu(pre_value) : pre_value);
}

// An NO × NV tile of outputs (channels o.., pixels j.. of the block) over all
// input channels, x's rows `stride` floats apart from xs; `whole`: the rows
// hold whole vectors (the copy), else the last vector is masked when !full.
template <int NO, int NV>
inline void PointwiseTile(const PointwiseBlock& p, const float* xs, int64_t stride, bool whole, int64_t o, int64_t j,
                          Mask m, bool full) {
  constexpr int64_t L = kLanes;
  F acc[NO][NV];
  for (int a = 0; a < NO; ++a) {
    const F b = Set1(p.bias ? p.bias[o + a] : 0.0f);
    for (int v = 0; v < NV; ++v) acc[a][v] = b;
  }
  const float* w = p.w + o * p.in_channels;
  for (int64_t i = 0; i < p.in_channels; ++i) {
    F xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = LoadAny(xs + i * stride + v * L, m, whole || full || v + 1 < NV);
    for (int a = 0; a < NO; ++a) {
      const F wv = Set1(w[a * p.in_channels + i]);
      for (int v = 0; v < NV; ++v) acc[a][v] = MulAdd(wv, xv[v], acc[a][v]);
    }
  }
  for (int a = 0; a < NO; ++a) {
    const int64_t at = (o + a) * p.hw + j;
    for (int v = 0; v < NV; ++v) {
      StorePointwise(acc[a][v], p.gelu, p.y + at + v * L, p.pre ? p.pre + at + v * L : nullptr, m,
                     full || v + 1 < NV);
    }
  }
}

template <int NV>
inline void PointwiseColumns(const PointwiseBlock& p, const float* xs, int64_t stride, bool whole, int64_t j, Mask m,
                             bool full) {
  int64_t o = 0;
  for (; o + kPwRows <= p.out_channels; o += kPwRows) PointwiseTile<kPwRows, NV>(p, xs, stride, whole, o, j, m, full);
  for (; o < p.out_channels; ++o) PointwiseTile<1, NV>(p, xs, stride, whole, o, j, m, full);
}

void PointwiseKernel(const PointwiseBlock& p) {
  constexpr int64_t L = kLanes;
  const bool copy = p.in_channels * kPwCols <= kPwCopyFloats;
  alignas(64) float buf[kPwCopyFloats];
  for (int64_t j = 0; j < p.n; j += kPwCols) {
    const int64_t n = std::min(kPwCols, p.n - j);
    const float* xs = p.x + j;
    int64_t stride = p.hw;
    if (copy) {
      for (int64_t i = 0; i < p.in_channels; ++i) {
        const float* s = p.x + i * p.hw + j;
        float* d = buf + i * kPwCols;
        ForVectors(n, [&](int64_t v, Mask m, bool full) { Store(d + v, LoadAny(s + v, m, full)); });
      }
      xs = buf, stride = kPwCols;
    }
    if (n == kPwCols) {
      PointwiseColumns<kPwVecs>(p, xs, stride, copy, j, AllLanes(), true);
      continue;
    }
    for (int64_t v = 0; v < n; v += L) {
      PointwiseColumns<1>(p, xs + v, stride, copy, j + v, TailMask(n - v), v + L <= n);
    }
  }
}

// ---- the weight gradient ------------------------------------------------------------
// dw[o, c] = Σ_j dpre[o, j]·x[c, j] over a block's pixels: an NO × NC tile of
// (output, input) channel pairs, one fp32 vector accumulator each, fed by NO + NC
// row loads per pixel vector; the lanes are added once per chunk of
// kPwGradChunk pixels (whose 2·(NO + NC) rows stay in L1 and L2 across tiles).
constexpr int kPwGradRows = 4;
constexpr int kPwGradCols = kLanes >= 16 ? 4 : 2;
constexpr int64_t kPwGradChunk = 1024;

template <int NO, int NC>
inline void PointwiseGradTile(const PointwiseGradBlock& p, int64_t j0, int64_t n, int64_t o, int64_t c, bool first) {
  constexpr int64_t L = kLanes;
  F acc[NO][NC];
  for (int a = 0; a < NO; ++a) {
    for (int b = 0; b < NC; ++b) acc[a][b] = Zero();
  }
  const float* d = p.dpre + o * p.hw + j0;
  const float* x = p.x + c * p.hw + j0;
  ForVectors(n, [&](int64_t v, Mask m, bool full) {
    F dv[NO], xv[NC];
    for (int a = 0; a < NO; ++a) dv[a] = LoadAny(d + a * p.hw + v, m, full);
    for (int b = 0; b < NC; ++b) xv[b] = LoadAny(x + b * p.hw + v, m, full);
    for (int a = 0; a < NO; ++a) {
      for (int b = 0; b < NC; ++b) acc[a][b] = MulAdd(dv[a], xv[b], acc[a][b]);
    }
  });
  (void)L;
  for (int a = 0; a < NO; ++a) {
    for (int b = 0; b < NC; ++b) {
      float* out = p.dw + (o + a) * p.in_channels + c + b;
      const float s = ReduceAdd(acc[a][b]);
      *out = first ? s : *out + s;
    }
  }
}

template <int NO>
inline void PointwiseGradRows(const PointwiseGradBlock& p, int64_t j0, int64_t n, int64_t o, bool first) {
  int64_t c = 0;
  for (; c + kPwGradCols <= p.in_channels; c += kPwGradCols) PointwiseGradTile<NO, kPwGradCols>(p, j0, n, o, c, first);
  for (; c < p.in_channels; ++c) PointwiseGradTile<NO, 1>(p, j0, n, o, c, first);
}

void PointwiseGradKernel(const PointwiseGradBlock& p) {
  for (int64_t j0 = 0; j0 < p.n; j0 += kPwGradChunk) {
    const int64_t n = std::min(kPwGradChunk, p.n - j0);
    const bool first = j0 == 0;
    if (p.dw) {
      int64_t o = 0;
      for (; o + kPwGradRows <= p.out_channels; o += kPwGradRows) PointwiseGradRows<kPwGradRows>(p, j0, n, o, first);
      for (; o < p.out_channels; ++o) PointwiseGradRows<1>(p, j0, n, o, first);
    }
    for (int64_t o = 0; p.db && o < p.out_channels; ++o) {
      const float s = ReduceAdd(FoldVectors(p.dpre + o * p.hw + j0, n, Zero(), [](F a, F b) { return Add(a, b); }));
      p.db[o] = first ? s : p.db[o] + s;
    }
  }
}
