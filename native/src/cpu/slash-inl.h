// The slash family's loops (see slash_kernels.h), written once over the vector
// wrapper and compiled per ISA by x86/slash_<isa>.cc, which sets the register
// tiles: kMaxSamples × kMaxTileRows accumulators for SlashDotRows and
// kSampleVectors × kSampleRows for SlashDotRowsBySample, each plus its operand
// vectors within the register file. Full vectors load plainly; only the last,
// partial one goes through a mask (on AMD, masked loads in the loop for every
// full vector cost a third of the per-sample kernel).

void SlashAccumulateRows(const float* z, int64_t R, const float* rows, int64_t ld, int64_t n, float* acc) {
  F zr[kSlashMaxRows];
  for (int64_t r = 0; r < R; ++r) zr[r] = Set1(z[r]);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    F a = Load(acc + j);
    for (int64_t r = 0; r < R; ++r) a = MulAdd(zr[r], Load(rows + r * ld + j), a);
    Store(acc + j, a);
  }
  if (j < n) {
    const Mask m = TailMask(n - j);
    F a = LoadTail(acc + j, m);
    for (int64_t r = 0; r < R; ++r) a = MulAdd(zr[r], LoadTail(rows + r * ld + j, m), a);
    StoreTail(acc + j, m, a);
  }
}

namespace slash_detail {

// BB samples × RR rows of dot products over n, BB·RR accumulators in registers;
// each loaded g vector is used RR times and each w vector BB times.
template <int BB, int RR>
void DotTile(const float* g, int64_t ldg, const float* w, int64_t ldw, int64_t n, float* out, int64_t ldo) {
  F acc[BB][RR];
  #pragma GCC unroll 16
  for (int b = 0; b < BB; ++b) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) acc[b][r] = Zero();
  }
  auto step = [&](int64_t j, auto load) {
    F gv[BB];
    #pragma GCC unroll 16
    for (int b = 0; b < BB; ++b) gv[b] = load(g + b * ldg + j);
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      const F wv = load(w + r * ldw + j);
      #pragma GCC unroll 16
      for (int b = 0; b < BB; ++b) acc[b][r] = MulAdd(gv[b], wv, acc[b][r]);
    }
  };
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) step(j, [](const float* p) { return Load(p); });
  if (j < n) {
    const Mask m = TailMask(n - j);
    step(j, [m](const float* p) { return LoadTail(p, m); });
  }
  #pragma GCC unroll 16
  for (int b = 0; b < BB; ++b) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) out[b * ldo + r] += ReduceAdd(acc[b][r]);
  }
}

// NB vectors of kLanes samples × RR rows with g transposed (see slash_kernels.h):
// per j, NB loads of gt and RR broadcasts of w feed NB·RR FMAs, and the sums
// stay per lane (per sample) until the end. The final vector holds `count`
// samples, Partial when count < kLanes.
template <int NB, int RR, bool Partial>
void SampleTile(const float* gt, int64_t B, int count, const float* w, int64_t ldw, int64_t n, float* out,
                int64_t ldo) {
  const Mask last = TailMask(count);
  F acc[NB][RR];
  #pragma GCC unroll 16
  for (int v = 0; v < NB; ++v) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) acc[v][r] = Zero();
  }
  for (int64_t j = 0; j < n; ++j) {
    F gv[NB];
    #pragma GCC unroll 16
    for (int v = 0; v < NB; ++v) {
      const float* p = gt + j * B + kLanes * v;
      gv[v] = Partial && v == NB - 1 ? LoadTail(p, last) : Load(p);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      const F wv = Set1(w[r * ldw + j]);
      #pragma GCC unroll 16
      for (int v = 0; v < NB; ++v) acc[v][r] = MulAdd(gv[v], wv, acc[v][r]);
    }
  }
  alignas(64) float lanes[kLanes];
  #pragma GCC unroll 16
  for (int v = 0; v < NB; ++v) {
    const int k1 = v == NB - 1 ? count : kLanes;
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      Store(lanes, acc[v][r]);
      for (int k = 0; k < k1; ++k) out[(kLanes * v + k) * ldo + r] += lanes[k];
    }
  }
}

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t);
using SampleFn = void (*)(const float*, int64_t, int, const float*, int64_t, int64_t, float*, int64_t);

// kTiles[samples − 1][rows − 1] and kSampleTiles[partial][vectors − 1][rows − 1].
template <int BB, int... Rs>
constexpr std::array<TileFn, kMaxTileRows> TileRow(std::integer_sequence<int, Rs...>) {
  return {&DotTile<BB, Rs + 1>...};
}
template <int... Bs>
constexpr std::array<std::array<TileFn, kMaxTileRows>, kMaxSamples> TileTable(std::integer_sequence<int, Bs...>) {
  return {TileRow<Bs + 1>(std::make_integer_sequence<int, kMaxTileRows>{})...};
}
constexpr auto kTiles = TileTable(std::make_integer_sequence<int, kMaxSamples>{});

template <int NB, bool Partial, int... Rs>
constexpr std::array<SampleFn, kSampleRows> SampleRow(std::integer_sequence<int, Rs...>) {
  return {&SampleTile<NB, Rs + 1, Partial>...};
}
template <bool Partial, int... Vs>
constexpr std::array<std::array<SampleFn, kSampleRows>, kSampleVectors> SampleTable(std::integer_sequence<int, Vs...>) {
  return {SampleRow<Vs + 1, Partial>(std::make_integer_sequence<int, kSampleRows>{})...};
}
constexpr std::array<std::array<std::array<SampleFn, kSampleRows>, kSampleVectors>, 2> kSampleTiles = {
    SampleTable<false>(std::make_integer_sequence<int, kSampleVectors>{}),
    SampleTable<true>(std::make_integer_sequence<int, kSampleVectors>{})};

}  // namespace slash_detail

void SlashDotRowsBySample(const float* gt, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                          float* out, int64_t ldo) {
  constexpr int64_t L = kLanes;
  for (int64_t r = 0; r < R; r += kSampleRows) {
    const int64_t rr = R - r < kSampleRows ? R - r : kSampleRows;
    for (int64_t b = 0; b < B; b += L * kSampleVectors) {
      const int64_t left = B - b;
      const int64_t vectors = left >= L * kSampleVectors ? kSampleVectors : (left + L - 1) / L;
      const int64_t count = left - L * (vectors - 1) < L ? left - L * (vectors - 1) : L;
      slash_detail::kSampleTiles[count < L][vectors - 1][rr - 1](gt + b, B, static_cast<int>(count), w + r * ldw, ldw,
                                                                 n, out + b * ldo + r, ldo);
    }
  }
}

void SlashDotRows(const float* g, int64_t ldg, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                  float* out, int64_t ldo) {
  for (int64_t r = 0; r < R; r += kMaxTileRows) {
    const int64_t rr = R - r < kMaxTileRows ? R - r : kMaxTileRows;
    for (int64_t b = 0; b < B; b += kMaxSamples) {
      const int64_t bb = B - b < kMaxSamples ? B - b : kMaxSamples;
      slash_detail::kTiles[bb - 1][rr - 1](g + b * ldg, ldg, w + r * ldw, ldw, n, out + b * ldo + r, ldo);
    }
  }
}

void SlashUnnormalizeRow(int64_t n, const float* y, const float* beta, const float* inv_gamma, float mean,
                         float inv_rstd, float* pre) {
  const F vm = Set1(mean), vs = Set1(inv_rstd);
  ForVectors(n, [&](int64_t j, Mask m, bool full) {
    const F xh = Mul(Sub(LoadAny(y + j, m, full), LoadAny(beta + j, m, full)), LoadAny(inv_gamma + j, m, full));
    StoreAny(pre + j, m, full, MulAdd(xh, vs, vm));
  });
}
