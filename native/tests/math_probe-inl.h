// The probe body, included inside namespace avx2 or avx512 (see math_probe.cc).
inline F ProbeOne(test::MathFn fn, F x) {
  F s, c;
  switch (fn) {
    case test::MathFn::kExp: return Exp(x);
    case test::MathFn::kErf: return Erf(x);
    case test::MathFn::kGelu: return Gelu(x);
    case test::MathFn::kGeluGrad: return GeluGrad(x);
    case test::MathFn::kLog: return Log(x);
    default: SinCos2Pi(x, &s, &c); return fn == test::MathFn::kSin ? s : c;
  }
}

void Probe(test::MathFn fn, const float* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i += kLanes) {
    const Mask m = TailMask(n - i);
    StoreTail(out + i, m, ProbeOne(fn, LoadTail(in + i, m)));
  }
}
