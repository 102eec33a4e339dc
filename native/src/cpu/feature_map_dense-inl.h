// The direct dense k × k conv over the vector wrapper (small channel counts,
// see DenseConvRows), compiled per ISA by x86/feature_map_<isa>.cc after
// feature_map_conv-inl.h (FillPaddedRows, StoreOutput).
//
// A task's input rows are copied once into zero-padded rows (every channel's
// rows the block's taps reach), so each tap of a pixel vector is one plain
// load. An output row is computed in register tiles of up to four output
// channels × NV pixel vectors over all input channels and taps: NV loads and
// four broadcasts per tap feed 4·NV FMAs, and the packed weights of a tile
// stay in L1. No im2col copy, no GEMM packing: at EGE-UNet's 3–24 channels
// those cost more than the arithmetic.

// Channel c's padded rows of the block: row u holds input row r0 − pad + u
// (zeros off the map), at c·span, span = rows + k − 1.
inline void FillDenseRows(const DenseConvRows& d, const PaddedRows& pr, float* buf) {
  const int64_t span = d.rows + d.k - 1, t0 = d.r0 - d.pad;
  const int64_t lo = std::clamp<int64_t>(-t0, 0, span), hi = std::clamp<int64_t>(d.in_h - t0, lo, span);
  for (int64_t c = 0; c < d.in_channels; ++c) {
    float* rows = buf + c * span * pr.width;
    std::fill(rows, rows + lo * pr.width, 0.0f);
    FillPaddedRows(pr, hi - lo, d.in_w, d.x + c * d.in_h * d.in_w + (t0 + lo) * d.in_w, rows + lo * pr.width);
    std::fill(rows + hi * pr.width, rows + span * pr.width, 0.0f);
  }
}

// Output channels [o, o + NO) × NV vectors from column s of output row r; the
// last vector masked when !full. K is k when known at compile time (0: d.k).
template <int NO, int NV, int K>
inline void DenseTile(const DenseConvRows& d, const PaddedRows& pr, const float* buf, int64_t r, int64_t o,
                      int64_t s, Mask tail, bool full) {
  constexpr int64_t L = kLanes;
  const int64_t k = K ? K : d.k, kk = k * k, span = d.rows + k - 1;
  F acc[NO][NV];
  for (int a = 0; a < NO; ++a) {
    const F b = Set1(d.bias ? d.bias[o + a] : 0.0f);
    for (int v = 0; v < NV; ++v) acc[a][v] = b;
  }
  const float* w = d.w + o * d.in_channels * kk;  // o is a multiple of the quad
  const float* x = buf + (r - d.r0) * pr.width + pr.left - d.pad + s;
  for (int64_t c = 0; c < d.in_channels; ++c) {
    for (int64_t i = 0; i < k; ++i) {
      const float* row = x + (c * span + i) * pr.width;
      const float* wt = w + (c * kk + i * k) * kConvQuad;
      for (int64_t j = 0; j < k; ++j) {
        F xv[NV];
        for (int v = 0; v < NV; ++v) xv[v] = Load(row + j + v * L);
        for (int a = 0; a < NO; ++a) {
          const F wv = Set1(wt[j * kConvQuad + a]);
          for (int v = 0; v < NV; ++v) acc[a][v] = MulAdd(wv, xv[v], acc[a][v]);
        }
      }
    }
  }
  const int64_t ohw = d.out_h * d.out_w;
  for (int a = 0; a < NO; ++a) {
    const int64_t at = (o + a) * ohw + r * d.out_w + s;
    for (int v = 0; v < NV; ++v) {
      StoreOutput(acc[a][v], d.gelu, d.y + at + v * L, d.pre ? d.pre + at + v * L : nullptr, tail,
                  full || v + 1 < NV);
    }
  }
}

// Every output channel at columns [s, s + NV·L) of row r: quads, then one
// tile of the 1–3 channels left.
template <int NV, int K>
inline void DenseColumns(const DenseConvRows& d, const PaddedRows& pr, const float* buf, int64_t r, int64_t s,
                         Mask tail, bool full) {
  int64_t o = 0;
  for (; o + kConvQuad <= d.out_channels; o += kConvQuad) DenseTile<4, NV, K>(d, pr, buf, r, o, s, tail, full);
  switch (d.out_channels - o) {
    case 3: return DenseTile<3, NV, K>(d, pr, buf, r, o, s, tail, full);
    case 2: return DenseTile<2, NV, K>(d, pr, buf, r, o, s, tail, full);
    case 1: return DenseTile<1, NV, K>(d, pr, buf, r, o, s, tail, full);
    default: return;
  }
}

// Four vectors a tile where the registers allow it (AVX-512's 32), then two,
// then single ones, the last masked.
template <int K>
inline void DenseRows(const DenseConvRows& d, const PaddedRows& pr, const float* buf) {
  constexpr int64_t L = kLanes;
  const Mask all = AllLanes();
  for (int64_t r = d.r0; r < d.r0 + d.rows; ++r) {
    int64_t s = 0;
    if constexpr (kLanes == 16) {
      for (; s + 4 * L <= d.out_w; s += 4 * L) DenseColumns<4, K>(d, pr, buf, r, s, all, true);
    }
    for (; s + 2 * L <= d.out_w; s += 2 * L) DenseColumns<2, K>(d, pr, buf, r, s, all, true);
    for (; s < d.out_w; s += L) DenseColumns<1, K>(d, pr, buf, r, s, TailMask(d.out_w - s), s + L <= d.out_w);
  }
}

void DenseConvKernel(const DenseConvRows& d, float* scratch) {
  const PaddedRows pr(DenseConvGeometry(d));
  FillDenseRows(d, pr, scratch);
  if (d.k == 3) return DenseRows<3>(d, pr, scratch);
  DenseRows<0>(d, pr, scratch);
}

// dw of output channels [o, o + NO), input channel c, tap row i and tap
// columns [j, j + NJ) over the block: NJ shifted input loads and NO dpre loads
// per pixel vector feed NO·NJ FMAs into fp32 vector sums, reduced at the end.
// The tail's lanes are masked in both factors (an Inf past the row must not
// meet a zero).
template <int NO, int NJ>
inline void DenseGradTile(const DenseConvGradRows& p, const PaddedRows& pr, const float* buf, int64_t o, int64_t c,
                          int64_t i, int64_t j) {
  constexpr int64_t L = kLanes;
  const DenseConvRows& d = p.g;
  const int64_t span = d.rows + d.k - 1, ohw = d.out_h * d.out_w, kk = d.k * d.k;
  F acc[NO][NJ];
  for (int a = 0; a < NO; ++a) {
    for (int t = 0; t < NJ; ++t) acc[a][t] = Zero();
  }
  const auto step = [&](const float* dp, const float* x, Mask m, bool full) {
    F xv[NJ];
    for (int t = 0; t < NJ; ++t) xv[t] = LoadAny(x + t, m, full);
    for (int a = 0; a < NO; ++a) {
      const F dv = LoadAny(dp + a * ohw, m, full);
      for (int t = 0; t < NJ; ++t) acc[a][t] = MulAdd(dv, xv[t], acc[a][t]);
    }
  };
  for (int64_t r = 0; r < d.rows; ++r) {
    const float* dp = p.dpre + o * ohw + (d.r0 + r) * d.out_w;
    const float* x = buf + (c * span + r + i) * pr.width + pr.left - d.pad + j;
    ForVectors(d.out_w, [&](int64_t s, Mask m, bool full) { step(dp + s, x + s, m, full); });
  }
  for (int a = 0; a < NO; ++a) {
    for (int t = 0; t < NJ; ++t) p.dw[(o + a) * d.in_channels * kk + c * kk + i * d.k + j + t] = ReduceAdd(acc[a][t]);
  }
}

template <int NO>
inline void DenseGradChannels(const DenseConvGradRows& p, const PaddedRows& pr, const float* buf, int64_t o) {
  const DenseConvRows& d = p.g;
  for (int64_t c = 0; c < d.in_channels; ++c) {
    for (int64_t i = 0; i < d.k; ++i) {
      if (d.k == 3) {
        DenseGradTile<NO, 3>(p, pr, buf, o, c, i, 0);
        continue;
      }
      for (int64_t j = 0; j < d.k; ++j) DenseGradTile<NO, 1>(p, pr, buf, o, c, i, j);
    }
  }
}

void DenseConvGradKernel(const DenseConvGradRows& p, float* scratch) {
  const DenseConvRows& d = p.g;
  const int64_t ohw = d.out_h * d.out_w;
  for (int64_t o = 0; p.db && o < d.out_channels; ++o) {
    F acc = Zero();
    for (int64_t r = d.r0; r < d.r0 + d.rows; ++r) {
      acc = Add(acc, FoldVectors(p.dpre + o * ohw + r * d.out_w, d.out_w, Zero(), [](F a, F b) { return Add(a, b); }));
    }
    p.db[o] = ReduceAdd(acc);
  }
  if (!p.dw) return;
  const PaddedRows pr(DenseConvGeometry(d));
  FillDenseRows(d, pr, scratch);
  int64_t o = 0;
  for (; o + 4 <= d.out_channels; o += 4) DenseGradChannels<4>(p, pr, scratch, o);
  switch (d.out_channels - o) {
    case 3: return DenseGradChannels<3>(p, pr, scratch, o);
    case 2: return DenseGradChannels<2>(p, pr, scratch, o);
    case 1: return DenseGradChannels<1>(p, pr, scratch, o);
    default: return;
  }
}
