// GELU, sigmoid, their backwards and row softmax, written once over the vector wrapper and
// compiled per ISA by x86/activation_<isa>.cc. Full vectors in the main loops,
// one masked tail (AVX2's vmaskmov stores are slow on some cores).

void GeluSpan(int64_t n, const float* x, float* y) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) Store(y + i, Gelu(Load(x + i)));
  if (i < n) {
    const Mask m = TailMask(n - i);
    StoreTail(y + i, m, Gelu(LoadTail(x + i, m)));
  }
}

void GeluBackwardSpan(int64_t n, const float* x, const float* dy, float* dx) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) Store(dx + i, Mul(Load(dy + i), GeluGrad(Load(x + i))));
  if (i < n) {
    const Mask m = TailMask(n - i);
    const F grad = GeluGrad(LoadTail(x + i, m));
    StoreTail(dx + i, m, Mul(LoadTail(dy + i, m), grad));
  }
}

// 1/(1 + e^−x), a few ulp relative (Exp's 2 ulp, one add, one divide).
// Every lane is safe: x is clamped to at most 30 first (from x ≈ 16.6 on,
// 1 + e^−x rounds to 1 anyway, so the result is unchanged, and the clamp keeps
// e^−x out of the subnormals and their microcode assists); below x ≈ −88.7 Exp
// overflows to +inf (it clamps −1e30 and −inf internally) and y = 1/inf = 0,
// where the true value is below 1e-38; +inf gives e^−30 and so exactly 1. The
// denominator is ≥ 1 or NaN, never 0. NaN: Min returns its second operand on
// NaN, so NaN goes through Exp and the divide and comes out NaN.
inline F Logistic(F x) {
  const F xc = Min(Set1(30.0f), x);
  const F one = Set1(1.0f);
  return Div(one, Add(one, Exp(Sub(Zero(), xc))));
}

void SigmoidSpan(int64_t n, const float* x, float* y) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) Store(y + i, Logistic(Load(x + i)));
  if (i < n) {
    const Mask m = TailMask(n - i);
    StoreTail(y + i, m, Logistic(LoadTail(x + i, m)));
  }
}

// dx = dy·(y − y·y): one fused negative multiply-add rounds y(1 − y) once.
void SigmoidBackwardSpan(int64_t n, const float* y, const float* dy, float* dx) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const F v = Load(y + i);
    Store(dx + i, Mul(Load(dy + i), NegMulAdd(v, v, v)));
  }
  if (i < n) {
    const Mask m = TailMask(n - i);
    const F v = LoadTail(y + i, m);
    StoreTail(dx + i, m, Mul(LoadTail(dy + i, m), NegMulAdd(v, v, v)));
  }
}

void SoftmaxRow(int64_t cols, const float* x, float* y) {
  constexpr int64_t L = kLanes;
  // Pass 1: the row maximum (masked-off lanes count as −inf).
  const F vmax = Set1(ReduceMax(FoldVectors(x, cols, Set1(-INFINITY), [](F a, F b) { return Max(a, b); })));

  // Pass 2: e = exp(x − max) into y, and its sum (a NaN input makes the sum, so the row, NaN).
  F s0 = Zero(), s1 = s0;
  int64_t i = 0;
  for (; i + 2 * L <= cols; i += 2 * L) {
    const F e0 = Exp(Sub(Load(x + i), vmax));
    const F e1 = Exp(Sub(Load(x + i + L), vmax));
    Store(y + i, e0);
    Store(y + i + L, e1);
    s0 = Add(s0, e0);
    s1 = Add(s1, e1);
  }
  for (; i + L <= cols; i += L) {
    const F e = Exp(Sub(Load(x + i), vmax));
    Store(y + i, e);
    s0 = Add(s0, e);
  }
  if (i < cols) {
    const Mask m = TailMask(cols - i);
    const F e = Exp(Sub(LoadTail(x + i, m), vmax));
    StoreTail(y + i, m, e);
    s0 = AddWhere(m, s0, e);
  }
  const F inv = Set1(1.0f / ReduceAdd(Add(s0, s1)));

  // Pass 3: normalise (the row is in L1 now).
  for (i = 0; i + L <= cols; i += L) Store(y + i, Mul(Load(y + i), inv));
  if (i < cols) {
    const Mask m = TailMask(cols - i);
    StoreTail(y + i, m, Mul(LoadTail(y + i, m), inv));
  }
}
