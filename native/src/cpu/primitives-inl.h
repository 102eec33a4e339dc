// The shared vector primitives (see primitives/vector.h), written once over
// the vector wrapper and compiled per ISA by x86/primitives_<isa>.cc. Tails run
// in masked vectors where masks are cheap (kCheapMasks), else scalar.

double Dot(const float* x, const float* y, int64_t n) {
  // Products in fp32 (one rounding each), sums in two double accumulators so
  // long rows (materialized gradients, T² Grams) keep full precision.
  D lo = ZeroD(), hi = ZeroD();
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    const F p = Mul(Load(x + k), Load(y + k));
    lo = AddD(lo, ToDoubleLo(p));
    hi = AddD(hi, ToDoubleHi(p));
  }
  if (kCheapMasks) {
    if (k < n) {
      const Mask m = TailMask(n - k);
      const F p = Mul(LoadTail(x + k, m), LoadTail(y + k, m));
      lo = AddD(lo, ToDoubleLo(p));
      hi = AddD(hi, ToDoubleHi(p));
    }
    return ReduceAddD(AddD(lo, hi));
  }
  double sum = ReduceAddD(AddD(lo, hi));
  for (; k < n; ++k) sum += static_cast<double>(x[k] * y[k]);
  return sum;
}

void Axpy(float* t, const float* x, int64_t n, float s) {
  const F vs = Set1(s);
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) Store(t + k, MulAdd(vs, Load(x + k), Load(t + k)));
  if (kCheapMasks) {
    if (k < n) {
      const Mask m = TailMask(n - k);
      StoreTail(t + k, m, MulAdd(vs, LoadTail(x + k, m), LoadTail(t + k, m)));
    }
    return;
  }
  for (; k < n; ++k) t[k] = std::fma(s, x[k], t[k]);
}
