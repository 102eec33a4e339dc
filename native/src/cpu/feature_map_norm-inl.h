// Feature-map kernels along pixels, written once over the vector wrapper and
// compiled per ISA by x86/feature_map_<isa>.cc: the plane passes GroupNorm, the
// Hadamard products and the conv backward are built from (the channel LayerNorm
// is in feature_map_channel_norm-inl.h). Full vectors,
// then one masked tail (masked-off lanes load zeros, which add nothing below).

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
