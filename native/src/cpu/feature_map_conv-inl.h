// Convolution kernels over the vector wrapper, compiled per ISA by
// x86/feature_map_<isa>.cc: the depthwise plane (forward, and the backward's
// transposed conv and weight sums); the pointwise conv is in
// feature_map_pointwise-inl.h.
//
// Depthwise: a plane's input rows are copied once into zero-padded rows (L1/L2
// resident), so every tap of an output vector is one plain unaligned load and
// borders, dilations wider than the map and the tails need no mask; only the
// last store of a row is masked. Output rows go in pairs r, r + dil_h, which
// share kh − 1 input rows (fewer loads per FMA), 3 × 3 weights held in
// registers. Outputs are written once, with the bias, the GELU and `pre` fused.

// Copies rows × in_w floats (dense) into padded rows, zeros around them.
inline void FillPaddedRows(const PaddedRows& pr, int64_t rows, int64_t in_w, const float* src, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dst + r * pr.width;
    std::fill(d, d + pr.left, 0.0f);
    std::copy(src + r * in_w, src + (r + 1) * in_w, d + pr.left);
    std::fill(d + pr.left + in_w, d + pr.width, 0.0f);
  }
}

// The weight of tap (i, j) as g reads it (flipped in the transposed conv).
inline float TapWeight(const PlaneConv& g, int64_t i, int64_t j) {
  return g.flip ? g.w[(g.kh - i) * g.kw - 1 - j] : g.w[i * g.kw + j];
}

// The taps of a K × K kernel broadcast once per plane, so that they stay in
// registers across the row loop (EGE-UNet's 3 × 3s); Taps<0> is any size, each
// weight broadcast where it is used.
template <int K>
struct Taps {
  F w[K * K];
  explicit Taps(const PlaneConv& g) {
    for (int i = 0; i < K; ++i) {
      for (int j = 0; j < K; ++j) w[i * K + j] = Set1(TapWeight(g, i, j));
    }
  }
  F at(const PlaneConv&, int64_t i, int64_t j) const { return w[i * K + j]; }
};
template <>
struct Taps<0> {
  explicit Taps(const PlaneConv&) {}
  F at(const PlaneConv& g, int64_t i, int64_t j) const { return Set1(TapWeight(g, i, j)); }
};

// acc[q][v] += the taps of output (r + q·dil_h, s + v·kLanes), q < ROWS: the
// two rows r and r + dil_h share kh − 1 input rows, each loaded once for both.
template <int NV, int ROWS, int K>
inline void AddTaps(const PlaneConv& g, const Taps<K>& w, const PaddedRows& pr, const float* buf, int64_t r,
                    int64_t s, F (*acc)[NV]) {
  const int64_t kh = K ? K : g.kh, kw = K ? K : g.kw;
  for (int64_t i = 0; i < kh + ROWS - 1; ++i) {
    const int64_t t = r - g.pad_h + i * g.dil_h;
    if (t < 0 || t >= g.in_h) continue;  // a zero row of the padding
    const float* row = buf + t * pr.width + pr.left - g.pad_w + s;
    for (int64_t j = 0; j < kw; ++j) {
      F x[NV];
      for (int v = 0; v < NV; ++v) x[v] = Load(row + j * g.dil_w + v * kLanes);
      for (int q = 0; q < ROWS; ++q) {
        const int64_t tap = i - q;  // output row r + q·dil_h reads input row t with tap row i − q
        if (tap < 0 || tap >= kh) continue;
        const F wt = w.at(g, tap, j);
        for (int v = 0; v < NV; ++v) acc[q][v] = MulAdd(wt, x[v], acc[q][v]);
      }
    }
  }
}

inline void StoreOutput(F pre_value, bool gelu, float* y, float* pre, Mask m, bool full) {
  if (pre) StoreAny(pre, m, full, pre_value);
  StoreAny(y, m, full, gelu ? Gelu(pre_value) : pre_value);
}

// Output rows r and, with ROWS = 2, r + dil_h: two vectors at a time, then
// single ones, the last masked.
template <int ROWS, int K>
inline void ConvRows(const PlaneConv& g, const Taps<K>& w, const PaddedRows& pr, const float* buf, float bias,
                     bool gelu, int64_t r, float* y, float* pre) {
  constexpr int64_t L = kLanes;
  const F b = Set1(bias);
  const Mask all = AllLanes();
  float* yr[ROWS];
  float* prr[ROWS];
  for (int q = 0; q < ROWS; ++q) {
    yr[q] = y + (r + q * g.dil_h) * g.out_w;
    prr[q] = pre ? pre + (r + q * g.dil_h) * g.out_w : nullptr;
  }
  int64_t s = 0;
  for (; s + 2 * L <= g.out_w; s += 2 * L) {
    F acc[ROWS][2];
    for (int q = 0; q < ROWS; ++q) acc[q][0] = acc[q][1] = b;
    AddTaps<2, ROWS>(g, w, pr, buf, r, s, acc);
    for (int q = 0; q < ROWS; ++q) {
      StoreOutput(acc[q][0], gelu, yr[q] + s, prr[q] ? prr[q] + s : nullptr, all, true);
      StoreOutput(acc[q][1], gelu, yr[q] + s + L, prr[q] ? prr[q] + s + L : nullptr, all, true);
    }
  }
  for (; s < g.out_w; s += L) {
    F acc[ROWS][1];
    for (int q = 0; q < ROWS; ++q) acc[q][0] = b;
    AddTaps<1, ROWS>(g, w, pr, buf, r, s, acc);
    const Mask m = TailMask(g.out_w - s);
    for (int q = 0; q < ROWS; ++q) {
      StoreOutput(acc[q][0], gelu, yr[q] + s, prr[q] ? prr[q] + s : nullptr, m, s + L <= g.out_w);
    }
  }
}

// Every output row of g from padded rows `buf`, in pairs (r, r + dil_h): each
// block of 2·dil_h rows pairs its first dil_h rows with the next dil_h; a row
// without a partner goes alone.
template <int K>
void ConvPlaneRowsOf(const PlaneConv& g, const PaddedRows& pr, const float* buf, float bias, bool gelu, float* y,
                     float* pre) {
  const Taps<K> w(g);
  for (int64_t r0 = 0; r0 < g.out_h; r0 += 2 * g.dil_h) {
    for (int64_t r = r0; r < std::min(r0 + g.dil_h, g.out_h); ++r) {
      if (r + g.dil_h < g.out_h) {
        ConvRows<2>(g, w, pr, buf, bias, gelu, r, y, pre);
      } else {
        ConvRows<1>(g, w, pr, buf, bias, gelu, r, y, pre);
      }
    }
  }
}

inline void ConvPlaneRows(const PlaneConv& g, const PaddedRows& pr, const float* buf, float bias, bool gelu,
                          float* y, float* pre) {
  if (g.kh == 3 && g.kw == 3) return ConvPlaneRowsOf<3>(g, pr, buf, bias, gelu, y, pre);
  ConvPlaneRowsOf<0>(g, pr, buf, bias, gelu, y, pre);
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
  // zero past out_w up to whole vectors, so the bias sums need no mask.
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
          for (; s + 2 * L <= g.out_w; s += 2 * L) {
            a0 = MulAdd(Load(d + s), Load(xs + s), a0);
            a1 = MulAdd(Load(d + s + L), Load(xs + s + L), a1);
          }
          // Past out_w, x is a real input column (an Inf there would make
          // 0 · Inf = NaN): both operands masked.
          for (; s < g.out_w; s += L) {
            const Mask m = TailMask(g.out_w - s);
            a0 = MulAdd(KeepLanes(m, Load(d + s)), KeepLanes(m, Load(xs + s)), a0);
          }
        }
        acc = add_group(acc, a0, a1);
      }
      p.dw[i * g.kw + j] += ReduceAddD(acc);
    }
  }
}
