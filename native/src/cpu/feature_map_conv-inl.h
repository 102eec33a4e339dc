// Convolution kernels over the vector wrapper, compiled per ISA by
// x86/feature_map_<isa>.cc: the depthwise plane (forward, and the backward's
// transposed conv and weight sums); the pointwise conv is in
// feature_map_pointwise-inl.h.
//
// Depthwise: a plane's input rows are copied once into zero-padded rows (L1/L2
// resident), so every tap of an output vector is one plain unaligned load and
// borders, dilations wider than the map and the tails need no mask; only the
// last store of a row is masked. Outputs are written once, with the bias, the
// GELU and `pre` fused.

// Copies rows × in_w floats (dense) into padded rows, zeros around them.
inline void FillPaddedRows(const PaddedRows& pr, int64_t rows, int64_t in_w, const float* src, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dst + r * pr.width;
    std::fill(d, d + pr.left, 0.0f);
    std::copy(src + r * in_w, src + (r + 1) * in_w, d + pr.left);
    std::fill(d + pr.left + in_w, d + pr.width, 0.0f);
  }
}

// acc[v] += the taps of output (r, s + v·kLanes) for NV vectors.
template <int NV>
inline void AddTaps(const PlaneConv& g, const PaddedRows& pr, const float* buf, int64_t r, int64_t s, F* acc) {
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t t = r - g.pad_h + i * g.dil_h;
    if (t < 0 || t >= g.in_h) continue;  // a zero row of the padding
    const float* row = buf + t * pr.width + pr.left - g.pad_w + s;
    for (int64_t j = 0; j < g.kw; ++j) {
      const F w = Set1(g.flip ? g.w[(g.kh - i) * g.kw - 1 - j] : g.w[i * g.kw + j]);
      for (int v = 0; v < NV; ++v) acc[v] = MulAdd(w, Load(row + j * g.dil_w + v * kLanes), acc[v]);
    }
  }
}

inline void StoreOutput(F pre_value, bool gelu, float* y, float* pre, Mask m, bool full) {
  if (pre) StoreAny(pre, m, full, pre_value);
  StoreAny(y, m, full, gelu ? Gelu(pre_value) : pre_value);
}

// Every output row of g from padded rows `buf`: two vectors at a time, then
// single ones, the last masked.
inline void ConvPlaneRows(const PlaneConv& g, const PaddedRows& pr, const float* buf, float bias, bool gelu,
                          float* y, float* pre) {
  constexpr int64_t L = kLanes;
  const F b = Set1(bias);
  const Mask all = AllLanes();
  for (int64_t r = 0; r < g.out_h; ++r) {
    float* yr = y + r * g.out_w;
    float* pr_row = pre ? pre + r * g.out_w : nullptr;
    int64_t s = 0;
    for (; s + 2 * L <= g.out_w; s += 2 * L) {
      F acc[2] = {b, b};
      AddTaps<2>(g, pr, buf, r, s, acc);
      StoreOutput(acc[0], gelu, yr + s, pr_row ? pr_row + s : nullptr, all, true);
      StoreOutput(acc[1], gelu, yr + s + L, pr_row ? pr_row + s + L : nullptr, all, true);
    }
    for (; s < g.out_w; s += L) {
      F acc[1] = {b};
      AddTaps<1>(g, pr, buf, r, s, acc);
      StoreOutput(acc[0], gelu, yr + s, pr_row ? pr_row + s : nullptr, TailMask(g.out_w - s), s + L <= g.out_w);
    }
  }
}

void DepthwiseKernel(const DepthwiseForwardPlane& p, float* scratch) {
  const PaddedRows pr(p.g);
  FillPaddedRows(pr, p.g.in_h, p.g.in_w, p.x, scratch);
  ConvPlaneRows(p.g, pr, scratch, p.bias, p.gelu, p.y, p.pre);
}

void DepthwiseBackwardKernel(const DepthwiseBackwardPlane& p, float* scratch) {
  constexpr int64_t L = kLanes;
  const PlaneConv& g = p.g;
  const PlaneConv t = TransposedConv(g);
  const PaddedRows pd(t), px(g);
  float* dpre = scratch;
  float* xbuf = scratch + pd.floats(t.in_h);

  // dpre = dy ⊙ GELU'(pre) (or dy), padded as the transposed conv's input.
  for (int64_t r = 0; r < g.out_h; ++r) {
    float* d = dpre + r * pd.width;
    const float* dy = p.dy + r * g.out_w;
    const float* pre = p.gelu ? p.pre + r * g.out_w : nullptr;
    std::fill(d, d + pd.left, 0.0f);
    ForVectors(g.out_w, [&](int64_t s, Mask m, bool full) {
      const F v = LoadAny(dy + s, m, full);
      StoreAny(d + pd.left + s, m, full, pre ? Mul(v, GeluGrad(LoadAny(pre + s, m, full))) : v);
    });
    std::fill(d + pd.left + g.out_w, d + pd.width, 0.0f);
  }
  if (p.dx) ConvPlaneRows(t, pd, dpre, 0.0f, false, p.dx, nullptr);
  if (!p.dw && !p.dbias) return;

  // Weight and bias sums: tap by tap over the rows (the padded rows stay in
  // L1/L2), fp32 vectors across a group of kDwRowsPerSum rows, each group added
  // lane-wise in double and the lanes added once per tap. The dpre rows are
  // zero past out_w up to whole vectors, so no lane needs a mask.
  constexpr int64_t kDwRowsPerSum = 8;
  if (p.dw) FillPaddedRows(px, g.in_h, g.in_w, p.x, xbuf);
  const int64_t whole = (g.out_w + L - 1) / L * L;
  const auto add_group = [](D acc, F a0, F a1) {
    const F a = Add(a0, a1);
    return AddD(acc, AddD(ToDoubleLo(a), ToDoubleHi(a)));
  };
  if (p.dbias) {
    D acc = ZeroD();
    for (int64_t r0 = 0; r0 < g.out_h; r0 += kDwRowsPerSum) {
      F a0 = Zero(), a1 = Zero();
      for (int64_t r = r0; r < std::min(g.out_h, r0 + kDwRowsPerSum); ++r) {
        const float* d = dpre + r * pd.width + pd.left;
        int64_t s = 0;
        for (; s + 2 * L <= whole; s += 2 * L) {
          a0 = Add(a0, Load(d + s));
          a1 = Add(a1, Load(d + s + L));
        }
        if (s < whole) a0 = Add(a0, Load(d + s));
      }
      acc = add_group(acc, a0, a1);
    }
    *p.dbias += ReduceAddD(acc);
  }
  if (!p.dw) return;
  for (int64_t i = 0; i < g.kh; ++i) {
    // The output rows whose tap i reads an input row.
    const int64_t off = i * g.dil_h - g.pad_h;
    const int64_t r_lo = std::max<int64_t>(0, -off), r_hi = std::min(g.out_h, g.in_h - off);
    for (int64_t j = 0; j < g.kw; ++j) {
      D acc = ZeroD();
      for (int64_t r0 = r_lo; r0 < r_hi; r0 += kDwRowsPerSum) {
        F a0 = Zero(), a1 = Zero();
        for (int64_t r = r0; r < std::min(r_hi, r0 + kDwRowsPerSum); ++r) {
          const float* d = dpre + r * pd.width + pd.left;
          const float* xs = xbuf + (r + off) * px.width + px.left - g.pad_w + j * g.dil_w;
          int64_t s = 0;
          for (; s + 2 * L <= whole; s += 2 * L) {
            a0 = MulAdd(Load(d + s), Load(xs + s), a0);
            a1 = MulAdd(Load(d + s + L), Load(xs + s + L), a1);
          }
          if (s < whole) a0 = MulAdd(Load(d + s), Load(xs + s), a0);
        }
        acc = add_group(acc, a0, a1);
      }
      p.dw[i * g.kw + j] += ReduceAddD(acc);
    }
  }
}
