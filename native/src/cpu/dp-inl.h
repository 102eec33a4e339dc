// The dp family's fused Gram norm (see dp_kernels.h), written once over the
// vector wrapper and compiled per ISA by x86/dp_<isa>.cc, which sets kGramBlock
// (the token block: B² accumulators plus B operands must fit the register
// file). Tails run in masked vectors where masks are cheap (kCheapMasks), else
// scalar (fewer than kLanes elements).

namespace dp_detail {

constexpr int B = kGramBlock;

// out[i·B + j] = Σ_k xs[i][k]·xt[j][k] over k < n: B² dot products in B²
// accumulators, each loaded vector used B times.
inline void DotBlock(const float* const xs[B], const float* const xt[B], int64_t n, float out[B * B]) {
  F acc[B * B];
  for (F& a : acc) a = Zero();
  const auto step = [&](const F (&a)[B], const F b, int j) {
    for (int i = 0; i < B; ++i) acc[i * B + j] = MulAdd(a[i], b, acc[i * B + j]);
  };
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    F a[B];
    for (int i = 0; i < B; ++i) a[i] = Load(xs[i] + k);
    for (int j = 0; j < B; ++j) step(a, Load(xt[j] + k), j);
  }
  if (kCheapMasks) {
    if (k < n) {
      const Mask m = TailMask(n - k);
      F a[B];
      for (int i = 0; i < B; ++i) a[i] = LoadTail(xs[i] + k, m);
      for (int j = 0; j < B; ++j) step(a, LoadTail(xt[j] + k, m), j);
    }
    for (int i = 0; i < B * B; ++i) out[i] = ReduceAdd(acc[i]);
    return;
  }
  for (int i = 0; i < B; ++i) {
    for (int j = 0; j < B; ++j) {
      float tail = 0;
      for (int64_t r = k; r < n; ++r) tail = std::fma(xs[i][r], xt[j][r], tail);
      out[i * B + j] = ReduceAdd(acc[i * B + j]) + tail;
    }
  }
}

}  // namespace dp_detail

double DpGramNorm(const float* A, const float* G, int64_t T, int64_t din, int64_t dout) {
  constexpr int B = dp_detail::B;
  double sum = 0;
  float ab[B * B], gb[B * B];
  for (int64_t s0 = 0; s0 < T; s0 += B) {
    for (int64_t t0 = s0; t0 < T; t0 += B) {
      // Rows past T repeat row T−1 (valid memory); their products are skipped below.
      const float *as[B], *at[B], *gs[B], *gt[B];
      for (int i = 0; i < B; ++i) {
        const int64_t s = std::min(s0 + i, T - 1), t = std::min(t0 + i, T - 1);
        as[i] = A + s * din;
        at[i] = A + t * din;
        gs[i] = G + s * dout;
        gt[i] = G + t * dout;
      }
      dp_detail::DotBlock(as, at, din, ab);
      dp_detail::DotBlock(gs, gt, dout, gb);
      double block = 0;
      for (int i = 0; i < B && s0 + i < T; ++i) {
        for (int j = 0; j < B && t0 + j < T; ++j) block += static_cast<double>(ab[i * B + j]) * gb[i * B + j];
      }
      // A diagonal block holds both (s, t) and (t, s); an off-diagonal one stands for its mirror too.
      sum += (t0 == s0 ? 1.0 : 2.0) * block;
    }
  }
  return sum;
}
