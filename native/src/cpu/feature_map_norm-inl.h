// Feature-map kernels along pixels, written once over the vector wrapper and
// compiled per ISA by x86/feature_map_<isa>.cc: the channel LayerNorm (a vector
// of pixels at a time, its channels hw apart), and the plane passes GroupNorm,
// the Hadamard products and the conv backward are built from. Full vectors,
// then one masked tail (masked-off lanes load zeros, which add nothing below).

// Σ_c f(c) over the channels through two accumulators (even and odd channels),
// which hide the add latency of the strided walk.
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

void ChannelNormKernel(const ChannelNormPixels& p) {
  const int64_t hw = p.hw;
  const F inv_c = Set1(1.0f / static_cast<float>(p.channels)), eps = Set1(p.eps);
  ForVectors(p.n, [&](int64_t j, Mask m, bool full) {
    const float* x = p.x + j;
    // Two passes (mean, then squared deviations) over the pixels' C values, which
    // the second pass finds in L1; then the normalised values.
    const F mu = Mul(SumChannels(p.channels, [&](int64_t c) { return LoadAny(x + c * hw, m, full); }), inv_c);
    const F var = SumChannels(p.channels, [&](int64_t c) {
      const F d = Sub(LoadAny(x + c * hw, m, full), mu);
      return Mul(d, d);
    });
    const F rs = Div(Set1(1.0f), Sqrt(MulAdd(var, inv_c, eps)));
    for (int64_t c = 0; c < p.channels; ++c) {
      const F xhat = Mul(Sub(LoadAny(x + c * hw, m, full), mu), rs);
      StoreAny(p.y + c * hw + j, m, full, MulAdd(xhat, Set1(p.gamma[c]), Set1(p.beta[c])));
    }
    if (p.mean) StoreAny(p.mean + j, m, full, mu);
    if (p.rstd) StoreAny(p.rstd + j, m, full, rs);
  });
}

void ChannelNormBackwardKernel(const ChannelNormBackwardPixels& p) {
  const int64_t hw = p.hw;
  const F inv_c = Set1(1.0f / static_cast<float>(p.channels));
  ForVectors(p.n, [&](int64_t j, Mask m, bool full) {
    const float *dy = p.dy + j, *x = p.x + j;
    const F mu = LoadAny(p.mean + j, m, full), rs = LoadAny(p.rstd + j, m, full);
    // dx = rstd·(g − mean_c(g) − x̂·mean_c(g·x̂)), g = γ·dy.
    const F mean_g = Mul(SumChannels(p.channels, [&](int64_t c) {
      return Mul(Set1(p.gamma[c]), LoadAny(dy + c * hw, m, full));
    }), inv_c);
    const F mean_gx = Mul(SumChannels(p.channels, [&](int64_t c) {
      const F g = Mul(Set1(p.gamma[c]), LoadAny(dy + c * hw, m, full));
      return Mul(g, Mul(Sub(LoadAny(x + c * hw, m, full), mu), rs));
    }), inv_c);
    for (int64_t c = 0; c < p.channels; ++c) {
      const F d = LoadAny(dy + c * hw, m, full);
      const F xhat = Mul(Sub(LoadAny(x + c * hw, m, full), mu), rs);
      const F g = Mul(Set1(p.gamma[c]), d);
      StoreAny(p.dx + c * hw + j, m, full, Mul(Sub(g, MulAdd(xhat, mean_gx, mean_g)), rs));
      if (p.dgamma_acc) {
        float* ag = p.dgamma_acc + c * kAccLanes;
        float* ab = p.dbeta_acc + c * kAccLanes;
        Store(ag, MulAdd(d, xhat, Load(ag)));
        Store(ab, Add(d, Load(ab)));
      }
    }
  });
}

// fp32 vector sums over blocks of kSumsBlock floats (a few terms a lane, so
// their rounding stays near one ulp of the block), each block then added in
// double: the double conversions no longer cost more than the loads.
constexpr int64_t kSumsBlock = 256;

template <bool kProducts>
inline void SumsBlocks(int64_t n, const float* a, float shift_a, const float* b, float shift_b, double* sum_a,
                       double* sum_ab) {
  constexpr int64_t L = kLanes;
  const F sa = Set1(shift_a), sb = Set1(shift_b);
  D s = ZeroD(), q = ZeroD();
  for (int64_t i = 0; i < n;) {
    const int64_t end = std::min(n, i + kSumsBlock);
    F u0 = Zero(), u1 = Zero(), v0 = Zero(), v1 = Zero();
    for (; i + 2 * L <= end; i += 2 * L) {
      const F x0 = Sub(Load(a + i), sa), x1 = Sub(Load(a + i + L), sa);
      u0 = Add(u0, x0);
      u1 = Add(u1, x1);
      if (kProducts) {
        v0 = MulAdd(x0, Sub(Load(b + i), sb), v0);
        v1 = MulAdd(x1, Sub(Load(b + i + L), sb), v1);
      }
    }
    for (; i < end; i += L) {
      const Mask m = TailMask(end - i);
      const F x = KeepLanes(m, Sub(LoadTail(a + i, m), sa));  // the shifted zeros of the tail would count
      u0 = Add(u0, x);
      if (kProducts) v0 = MulAdd(x, Sub(LoadTail(b + i, m), sb), v0);
    }
    const F u = Add(u0, u1);
    s = AddD(s, AddD(ToDoubleLo(u), ToDoubleHi(u)));
    if (kProducts) {
      const F v = Add(v0, v1);
      q = AddD(q, AddD(ToDoubleLo(v), ToDoubleHi(v)));
    }
  }
  *sum_a += ReduceAddD(s);
  if (kProducts) *sum_ab += ReduceAddD(q);
}

void SumsKernel(int64_t n, const float* a, float shift_a, const float* b, float shift_b, double* sum_a,
                double* sum_ab) {
  if (b) return SumsBlocks<true>(n, a, shift_a, b, shift_b, sum_a, sum_ab);
  SumsBlocks<false>(n, a, shift_a, b, shift_b, sum_a, sum_ab);
}

void AffineKernel(int64_t n, const float* x, float m, float a, float c, float* y) {
  const F vm = Set1(m), va = Set1(a), vc = Set1(c);
  ForVectors(n, [&](int64_t i, Mask k, bool full) {
    StoreAny(y + i, k, full, MulAdd(Sub(LoadAny(x + i, k, full), vm), va, vc));
  });
}

void Affine2Kernel(int64_t n, const float* dy, const float* x, float a, float m, float b, float c, float* dx) {
  const F va = Set1(a), vm = Set1(m), vb = Set1(b), vc = Set1(c);
  ForVectors(n, [&](int64_t i, Mask k, bool full) {
    const F t = MulAdd(vb, Sub(LoadAny(x + i, k, full), vm), vc);
    StoreAny(dx + i, k, full, MulAdd(va, LoadAny(dy + i, k, full), t));
  });
}

void MulKernel(int64_t n, const float* a, const float* b, float* out) {
  ForVectors(n, [&](int64_t i, Mask k, bool full) {
    StoreAny(out + i, k, full, Mul(LoadAny(a + i, k, full), LoadAny(b + i, k, full)));
  });
}

void MulAccKernel(int64_t n, const float* a, const float* b, float* acc) {
  ForVectors(n, [&](int64_t i, Mask k, bool full) {
    StoreAny(acc + i, k, full, MulAdd(LoadAny(a + i, k, full), LoadAny(b + i, k, full), LoadAny(acc + i, k, full)));
  });
}

void GeluGradKernel(int64_t n, const float* dy, const float* pre, float* dpre) {
  ForVectors(n, [&](int64_t i, Mask k, bool full) {
    StoreAny(dpre + i, k, full, Mul(LoadAny(dy + i, k, full), GeluGrad(LoadAny(pre + i, k, full))));
  });
}
