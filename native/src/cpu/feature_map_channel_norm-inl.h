// The channel LayerNorm kernels (forward and backward) over the vector wrapper,
// compiled per ISA by x86/feature_map_<isa>.cc.
//
// A pixel's C values sit hw floats apart. Walking the C planes for one vector
// of pixels at a time, as a plain loop does, touches C lines that map to the
// same L1 sets whenever hw·4 bytes is a multiple of 4 KiB (32×32, 64×64 maps):
// with more channels than the L1 has ways every pass over them misses. So a
// block of pixels is first copied into a dense on-stack array (channel rows of
// the block's width, L1 resident), and the passes (mean, variance, write; the
// backward's two means, write) run over that copy, the writes channel by
// channel. The arithmetic per lane is that of the plain loop, in the same
// order, so the copy changes no bit. Channel counts too large for the array
// read the planes in place.

// With groups, each block of channels is normalised on its own: the kernels
// run the one-block form over each channel slice in turn (a slice's copy is
// sized to its channels).

// Floats of the on-stack copy, and the most pixels per block.
constexpr int64_t kNormCopyFloats = 8192;
constexpr int64_t kNormBlock = 512;

// Σ_c f(c) over the channels through two accumulators (even and odd channels),
// which hide the add latency of the walk.
template <typename Fn>
inline F SumChannels(int64_t channels, const Fn& f) {
  F s0 = Zero(), s1 = Zero();
  int64_t c = 0;
  for (; c + 1 < channels; c += 2) {
    s0 = Add(s0, f(c));
    s1 = Add(s1, f(c + 1));
  }
  if (c < channels) s0 = Add(s0, f(c));
  return Add(s0, s1);
}

// Where a kernel reads a block's channel rows from: the copy (rows `stride`
// floats apart, whole vectors, zeros past the pixels), or the planes in place.
struct NormRows {
  bool copied;
  int64_t block;  // pixels per block (whole vectors)
};
inline NormRows NormRowsFor(int64_t arrays, int64_t channels) {
  const int64_t fit = kNormCopyFloats / (arrays * channels) / kLanes * kLanes;
  if (fit == 0) return NormRows{false, kNormBlock};
  return NormRows{true, std::min(fit, kNormBlock)};
}

// Copies `channels` rows of n pixels (planes hw apart) into rows `block`
// floats apart, zero-filling the last vector.
inline void CopyChannelRows(int64_t channels, int64_t hw, int64_t n, int64_t block, const float* src, float* dst) {
  for (int64_t c = 0; c < channels; ++c) {
    const float* s = src + c * hw;
    float* d = dst + c * block;
    ForVectors(n, [&](int64_t v, Mask m, bool full) { Store(d + v, LoadAny(s + v, m, full)); });
  }
}

// One block of channels (the whole of p.channels; p.groups unused).
inline void ChannelNormBlock(const ChannelNormPixels& p) {
  const int64_t hw = p.hw, C = p.channels;
  const F inv_c = Set1(1.0f / static_cast<float>(C)), eps = Set1(p.eps);
  const NormRows nr = NormRowsFor(1, C);
  alignas(64) float copy[kNormCopyFloats];
  alignas(64) float mus[kNormBlock], rss[kNormBlock];
  for (int64_t j0 = 0; j0 < p.n; j0 += nr.block) {
    const int64_t n = std::min(nr.block, p.n - j0);
    const float* base = p.x + j0;
    int64_t stride = hw;
    if (nr.copied) {
      CopyChannelRows(C, hw, n, nr.block, base, copy);
      base = copy, stride = nr.block;
    }
    // Per vector of pixels: the mean, then the squared deviations (two passes
    // over rows the first left in L1).
    ForVectors(n, [&](int64_t v, Mask m, bool full) {
      const bool whole = full || nr.copied;
      const float* x = base + v;
      const F mu = Mul(SumChannels(C, [&](int64_t c) { return LoadAny(x + c * stride, m, whole); }), inv_c);
      const F var = SumChannels(C, [&](int64_t c) {
        const F d = Sub(LoadAny(x + c * stride, m, whole), mu);
        return Mul(d, d);
      });
      const F rs = Div(Set1(1.0f), Sqrt(MulAdd(var, inv_c, eps)));
      Store(mus + v, mu);
      Store(rss + v, rs);
      if (p.mean) StoreAny(p.mean + j0 + v, m, full, mu);
      if (p.rstd) StoreAny(p.rstd + j0 + v, m, full, rs);
    });
    // The normalised values, channel row by channel row.
    for (int64_t c = 0; c < C; ++c) {
      const F g = Set1(p.gamma[c]), b = Set1(p.beta[c]);
      const float* x = base + c * stride;
      float* y = p.y + c * hw + j0;
      ForVectors(n, [&](int64_t v, Mask m, bool full) {
        const F xhat = Mul(Sub(LoadAny(x + v, m, full || nr.copied), Load(mus + v)), Load(rss + v));
        StoreAny(y + v, m, full, MulAdd(xhat, g, b));
      });
    }
  }
}

inline void ChannelNormBackwardBlock(const ChannelNormBackwardPixels& p) {
  const int64_t hw = p.hw, C = p.channels;
  const F inv_c = Set1(1.0f / static_cast<float>(C));
  const NormRows nr = NormRowsFor(2, C);
  alignas(64) float copy[kNormCopyFloats];
  alignas(64) float mus[kNormBlock], rss[kNormBlock], mgs[kNormBlock], mgxs[kNormBlock];
  for (int64_t j0 = 0; j0 < p.n; j0 += nr.block) {
    const int64_t n = std::min(nr.block, p.n - j0);
    const float *dy_base = p.dy + j0, *x_base = p.x + j0;
    int64_t stride = hw;
    if (nr.copied) {
      CopyChannelRows(C, hw, n, nr.block, dy_base, copy);
      CopyChannelRows(C, hw, n, nr.block, x_base, copy + C * nr.block);
      dy_base = copy, x_base = copy + C * nr.block, stride = nr.block;
    }
    // dx = rstd·(g − mean_c(g) − x̂·mean_c(g·x̂)), g = γ·dy: the two means per vector.
    ForVectors(n, [&](int64_t v, Mask m, bool full) {
      const bool whole = full || nr.copied;
      const float *dy = dy_base + v, *x = x_base + v;
      const F mu = LoadAny(p.mean + j0 + v, m, full), rs = LoadAny(p.rstd + j0 + v, m, full);
      const F mean_g = Mul(SumChannels(C, [&](int64_t c) {
        return Mul(Set1(p.gamma[c]), LoadAny(dy + c * stride, m, whole));
      }), inv_c);
      const F mean_gx = Mul(SumChannels(C, [&](int64_t c) {
        const F g = Mul(Set1(p.gamma[c]), LoadAny(dy + c * stride, m, whole));
        return Mul(g, Mul(Sub(LoadAny(x + c * stride, m, whole), mu), rs));
      }), inv_c);
      Store(mus + v, mu);
      Store(rss + v, rs);
      Store(mgs + v, mean_g);
      Store(mgxs + v, mean_gx);
    });
    // dx channel row by channel row; the dγ, dβ lanes in registers along the row.
    for (int64_t c = 0; c < C; ++c) {
      const F gamma = Set1(p.gamma[c]);
      const float *dy = dy_base + c * stride, *x = x_base + c * stride;
      float* dx = p.dx + c * hw + j0;
      float* ag = p.dgamma_acc ? p.dgamma_acc + c * kAccLanes : nullptr;
      float* ab = p.dbeta_acc ? p.dbeta_acc + c * kAccLanes : nullptr;
      F sg = ag ? Load(ag) : Zero(), sb = ab ? Load(ab) : Zero();
      ForVectors(n, [&](int64_t v, Mask m, bool full) {
        const bool whole = full || nr.copied;
        const F d = LoadAny(dy + v, m, whole);
        const F rs = Load(rss + v);
        const F xhat = Mul(Sub(LoadAny(x + v, m, whole), Load(mus + v)), rs);
        const F g = Mul(gamma, d);
        StoreAny(dx + v, m, full, Mul(Sub(g, MulAdd(xhat, Load(mgxs + v), Load(mgs + v))), rs));
        if (ag) {
          sg = MulAdd(d, xhat, sg);
          sb = Add(d, sb);
        }
      });
      if (ag) {
        Store(ag, sg);
        Store(ab, sb);
      }
    }
  }
}

// The groups one after the other, each a one-block problem over its channel
// slice (its own copy blocks, sized to its channels), statistics k·hw apart.
void ChannelNormKernel(const ChannelNormPixels& p) {
  const int64_t cg = p.channels / p.groups;
  for (int64_t k = 0; k < p.groups; ++k) {
    const int64_t at = k * cg * p.hw;
    ChannelNormBlock(ChannelNormPixels{cg, 1, p.hw, p.n, p.x + at, p.gamma + k * cg, p.beta + k * cg, p.eps,
                                       p.y + at, p.mean ? p.mean + k * p.hw : nullptr,
                                       p.rstd ? p.rstd + k * p.hw : nullptr});
  }
}

void ChannelNormBackwardKernel(const ChannelNormBackwardPixels& p) {
  const int64_t cg = p.channels / p.groups;
  for (int64_t k = 0; k < p.groups; ++k) {
    const int64_t at = k * cg * p.hw, acc = k * cg * kAccLanes;
    ChannelNormBackwardBlock(ChannelNormBackwardPixels{
        cg, 1, p.hw, p.n, p.dy + at, p.x + at, p.gamma + k * cg, p.mean + k * p.hw, p.rstd + k * p.hw, p.dx + at,
        p.dgamma_acc ? p.dgamma_acc + acc : nullptr, p.dbeta_acc ? p.dbeta_acc + acc : nullptr});
  }
}
