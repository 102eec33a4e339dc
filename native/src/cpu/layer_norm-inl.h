// LayerNorm rows, written once over the vector wrapper and compiled per ISA by
// x86/layer_norm_<isa>.cc. A row is read from memory once; the later passes
// find it in L1 (rows up to ~10K floats). Full vectors in the main loops, one
// masked tail per pass, never a scalar loop; masked-off lanes load zeros, which
// add nothing to any sum below.

void LayerNormForwardRow(int64_t cols, const float* x, const float* gamma, const float* beta,
                         float eps, float* y, float* mean, float* rstd) {
  constexpr int64_t L = kLanes;
  // Pass 1: the mean.
  const float mu = ReduceAdd(FoldVectors(x, cols, Zero(), [](F a, F b) { return Add(a, b); })) / static_cast<float>(cols);

  // Pass 2: squared deviations from the mean (exact two-pass variance).
  const F vmu = Set1(mu);
  F s0 = Zero(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 4 * L <= cols; i += 4 * L) {
    const F d0 = Sub(Load(x + i), vmu);
    const F d1 = Sub(Load(x + i + L), vmu);
    const F d2 = Sub(Load(x + i + 2 * L), vmu);
    const F d3 = Sub(Load(x + i + 3 * L), vmu);
    s0 = MulAdd(d0, d0, s0);
    s1 = MulAdd(d1, d1, s1);
    s2 = MulAdd(d2, d2, s2);
    s3 = MulAdd(d3, d3, s3);
  }
  for (; i < cols; i += L) {
    const Mask m = TailMask(cols - i);
    const F d = KeepLanes(m, Sub(LoadTail(x + i, m), vmu));
    s0 = MulAdd(d, d, s0);
  }
  const float var = ReduceAdd(Add(Add(s0, s1), Add(s2, s3))) / static_cast<float>(cols);
  const float rs = 1.0f / std::sqrt(var + eps);

  // Pass 3: y = gamma·(x − μ)·rstd + beta.
  const F vrs = Set1(rs);
  ForVectors(cols, [&](int64_t j, Mask m, bool full) {
    const F xhat = Mul(Sub(LoadAny(x + j, m, full), vmu), vrs);
    StoreAny(y + j, m, full, MulAdd(xhat, LoadAny(gamma + j, m, full), LoadAny(beta + j, m, full)));
  });
  *mean = mu;
  *rstd = rs;
}

void LayerNormBackwardRow(int64_t cols, const float* dy, const float* x, const float* gamma,
                          float mean, float rstd, float* dx, float* dgamma_acc, float* dbeta_acc) {
  constexpr int64_t L = kLanes;
  const F vmu = Set1(mean), vrs = Set1(rstd);
  // Pass 1: Σ g and Σ g·x̂ with g = gamma·dy, two accumulators each.
  F a0 = Zero(), a1 = a0, b0 = a0, b1 = a0;
  int64_t i = 0;
  for (; i + 2 * L <= cols; i += 2 * L) {
    const F g0 = Mul(Load(gamma + i), Load(dy + i));
    const F g1 = Mul(Load(gamma + i + L), Load(dy + i + L));
    const F h0 = Mul(Sub(Load(x + i), vmu), vrs);
    const F h1 = Mul(Sub(Load(x + i + L), vmu), vrs);
    a0 = Add(a0, g0);
    a1 = Add(a1, g1);
    b0 = MulAdd(g0, h0, b0);
    b1 = MulAdd(g1, h1, b1);
  }
  for (; i < cols; i += L) {
    const Mask m = TailMask(cols - i);
    const F g = Mul(LoadTail(gamma + i, m), LoadTail(dy + i, m));
    const F h = Mul(Sub(LoadTail(x + i, m), vmu), vrs);
    a0 = Add(a0, g);
    b0 = MulAdd(g, h, b0);
  }
  const float inv_cols = 1.0f / static_cast<float>(cols);
  const F mean_g = Set1(ReduceAdd(Add(a0, a1)) * inv_cols);
  const F mean_gx = Set1(ReduceAdd(Add(b0, b1)) * inv_cols);

  // Pass 2: dx = rstd·(g − mean_g − x̂·mean_gx), and the parameter gradients when asked.
  ForVectors(cols, [&](int64_t j, Mask m, bool full) {
    const F d = LoadAny(dy + j, m, full);
    const F xhat = Mul(Sub(LoadAny(x + j, m, full), vmu), vrs);
    const F t = MulAdd(xhat, mean_gx, mean_g);
    const F g = Mul(LoadAny(gamma + j, m, full), d);
    StoreAny(dx + j, m, full, Mul(Sub(g, t), vrs));
    if (dgamma_acc) {
      StoreAny(dgamma_acc + j, m, full, MulAdd(d, xhat, LoadAny(dgamma_acc + j, m, full)));
      StoreAny(dbeta_acc + j, m, full, Add(d, LoadAny(dbeta_acc + j, m, full)));
    }
  });
}
