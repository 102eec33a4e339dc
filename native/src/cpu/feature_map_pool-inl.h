// The 2×2, stride-2 max-pool over the vector wrapper, compiled per ISA by
// x86/feature_map_<isa>.cc. Two input rows give kLanes windows per step: each
// row's 2·kLanes floats are split into even and odd columns (Deinterleave), so
// the four window elements (0,0), (0,1), (1,0), (1,1) sit in four vectors and a
// running Beats/Select keeps the first maximum in row-major order, NaN winning,
// exactly as the scalar reference. The last windows of a row are masked.

namespace {
// The four elements of kLanes windows: (0,0), (0,1) from row x0, (1,0), (1,1)
// from row x1, each row's two vectors masked by m0, m1 when !full.
struct PoolStep {
  F e0, o0, e1, o1;
  void Load2(const float* x0, const float* x1, Mask m0, Mask m1, bool full) {
    Deinterleave(LoadAny(x0, m0, full), LoadAny(x0 + kLanes, m1, full), &e0, &o0);
    Deinterleave(LoadAny(x1, m0, full), LoadAny(x1 + kLanes, m1, full), &e1, &o1);
  }
};
// Masks of the 2·n input floats of n < kLanes windows, split over two vectors.
inline void PairMasks(int64_t n, Mask* m0, Mask* m1) {
  *m0 = TailMask(2 * n);
  *m1 = TailMask(std::max<int64_t>(0, 2 * n - kLanes));
}
}  // namespace

void MaxPoolKernel(int64_t in_h, int64_t in_w, const float* x, float* y) {
  const int64_t oh = in_h / 2, ow = in_w / 2;
  for (int64_t r = 0; r < oh; ++r) {
    const float* x0 = x + 2 * r * in_w;
    ForVectors(ow, [&](int64_t s, Mask m, bool full) {
      Mask m0 = m, m1 = m;
      if (!full) PairMasks(ow - s, &m0, &m1);
      PoolStep w;
      w.Load2(x0 + 2 * s, x0 + in_w + 2 * s, m0, m1, full);
      F best = w.e0;
      best = Select(Beats(w.o0, best), w.o0, best);
      best = Select(Beats(w.e1, best), w.e1, best);
      best = Select(Beats(w.o1, best), w.o1, best);
      StoreAny(y + r * ow + s, m, full, best);
    });
  }
}

void MaxPoolBackwardKernel(int64_t in_h, int64_t in_w, const float* dy, const float* x, float* dx) {
  const int64_t oh = in_h / 2, ow = in_w / 2;
  for (int64_t r = 0; r < oh; ++r) {
    const float* x0 = x + 2 * r * in_w;
    float* d0 = dx + 2 * r * in_w;
    ForVectors(ow, [&](int64_t s, Mask m, bool full) {
      Mask m0 = m, m1 = m;
      if (!full) PairMasks(ow - s, &m0, &m1);
      PoolStep w;
      w.Load2(x0 + 2 * s, x0 + in_w + 2 * s, m0, m1, full);
      // g[k]: dy where element k is the first maximum, else zero; a later
      // winner clears the earlier ones.
      const F d = LoadAny(dy + r * ow + s, m, full);
      F g0 = d, g1, g2, g3, best = w.e0;
      Mask b = Beats(w.o0, best);
      best = Select(b, w.o0, best), g1 = KeepLanes(b, d), g0 = Select(b, Zero(), g0);
      b = Beats(w.e1, best);
      best = Select(b, w.e1, best), g2 = KeepLanes(b, d), g0 = Select(b, Zero(), g0), g1 = Select(b, Zero(), g1);
      b = Beats(w.o1, best);
      g3 = KeepLanes(b, d), g0 = Select(b, Zero(), g0), g1 = Select(b, Zero(), g1), g2 = Select(b, Zero(), g2);
      F lo, hi;
      Interleave(g0, g1, &lo, &hi);
      StoreAny(d0 + 2 * s, m0, full, lo);
      StoreAny(d0 + 2 * s + kLanes, m1, full, hi);
      Interleave(g2, g3, &lo, &hi);
      StoreAny(d0 + in_w + 2 * s, m0, full, lo);
      StoreAny(d0 + in_w + 2 * s + kLanes, m1, full, hi);
    });
    // The column no window covers (odd in_w).
    if (in_w % 2) d0[in_w - 1] = d0[2 * in_w - 1] = 0.0f;
  }
  // The row no window covers (odd in_h).
  if (in_h % 2) std::fill(dx + (in_h - 1) * in_w, dx + in_h * in_w, 0.0f);
}
