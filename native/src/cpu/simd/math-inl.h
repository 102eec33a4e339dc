// Vectorised math written once over the vector wrapper (vec_avx2.h /
// vec_avx512.h): included inside namespace avx2 or avx512 by the wrapper's
// users, never on its own. Accuracy: a few ulp over the ranges stated per
// function; tested against <cmath> in native/tests at every ISA level.
// One owner per section; add functions, never a second copy.

// c[0]·x^(N−1) + … + c[N−1] by Horner's rule, one FMA a coefficient.
template <size_t N>
inline F Horner(F x, const float (&c)[N]) {
  F p = Set1(c[0]);
#pragma GCC unroll 16
  for (size_t i = 1; i < N; ++i) p = MulAdd(p, x, Set1(c[i]));
  return p;
}

// ---- exp, erf, gelu (activation family; also used by GEMM epilogues) ----------

// e^x: within 2 ulp for normal results; overflows to +inf above ~88.72, goes
// through subnormals to 0 below ~-87.3, NaN stays NaN.
inline F Exp(F x) {
  // Clamp first so n stays small; max/min return their second operand on NaN.
  x = Min(Set1(88.8f), Max(Set1(-104.0f), x));
  const F n = Round(Mul(x, Set1(1.44269504088896341f)));
  // r = x − n·ln2 with ln2 split in two so r keeps its low bits.
  F r = NegMulAdd(n, Set1(0.693359375f), x);
  r = NegMulAdd(n, Set1(-2.12194440e-4f), r);
  // e^r = 1 + r + r²·P(r) on |r| <= ln2/2 (minimax P, degree 5).
  static constexpr float kP[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  F p = Horner(r, kP);
  const F y = Add(MulAdd(Mul(r, r), p, r), Set1(1.0f));
  return ScaleByPow2(y, n);
}

// erfc(z) for z >= 0 (or NaN), relative error ~3e-7; also returns e^(−z²) in
// *exp_neg_z2 (GELU's backward reuses it for the normal density). Form:
// erfc(z) = t·e^(−z²)·Q(t), t = 1/(1 + z/2), Q a degree-9 least-squares fit of
// erfcx(z)/t on z in [0, 10]; z is clamped to 10 (erfc(10) ~ 2e-45).
inline F ErfcNonNegative(F z, F* exp_neg_z2) {
  z = Min(Set1(10.0f), z);
  const F t = Div(Set1(1.0f), MulAdd(z, Set1(0.5f), Set1(1.0f)));
  static constexpr float kQ[] = {1.353464928e-02f, -1.296140552e-01f, 4.428111315e-01f, -6.870458126e-01f, 4.341518879e-01f, -1.045284793e-01f, 2.274455130e-01f, 2.382882237e-01f, 2.828940153e-01f, 2.820628881e-01f};
  F q = Horner(t, kQ);
  // z² = hi + lo exactly; e^(−hi−lo) ≈ e^(−hi)·(1 − lo) keeps the relative
  // error of the tail small where z² is large.
  const F hi = Mul(z, z);
  const F lo = MulSub(z, z, hi);
  F e = Exp(Sub(Zero(), hi));
  e = NegMulAdd(e, lo, e);
  *exp_neg_z2 = e;
  return Mul(Mul(t, e), q);
}

inline F SignBit() { return AsFloat(SetI(0x80000000u)); }

// erf(x), absolute error below 4e-7 everywhere.
inline F Erf(F x) {
  const F sign = SignBit();
  F unused;
  const F r = Sub(Set1(1.0f), ErfcNonNegative(AndNot(sign, x), &unused));
  return Or(r, And(x, sign));
}

// Φ(x), the standard normal CDF, from erfc so that it keeps its relative
// accuracy for negative x; *pdf gets φ(x) = e^(−x²/2)/√(2π).
inline F NormalCdf(F x, F* pdf) {
  const F z = Mul(AndNot(SignBit(), x), Set1(0.70710678118654752f));
  F e;
  const F half_erfc = Mul(ErfcNonNegative(z, &e), Set1(0.5f));
  *pdf = Mul(e, Set1(0.39894228040143267794f));
  return Select(Less(x, Zero()), half_erfc, Sub(Set1(1.0f), half_erfc));
}

// Exact (erf) GELU: x·Φ(x); absolute error below ~4e-7·max(1, |x|).
// Φ's argument is clamped to ±12.5: beyond it Φ is 1.0f or below 4e-36, and the
// clamp keeps e^(−z²) and Φ out of the subnormals, whose microcode assists made
// GELU several times slower on large activations (GEMM epilogues).
inline F Gelu(F x) {
  F pdf;
  const F xc = Min(Set1(12.5f), Max(Set1(-12.5f), x));
  return Mul(x, NormalCdf(xc, &pdf));
}

// d/dx GELU = Φ(x) + x·φ(x).
inline F GeluGrad(F x) {
  F pdf;
  const F cdf = NormalCdf(x, &pdf);
  return MulAdd(x, pdf, cdf);
}

// ---- log, sin/cos (random streams: Box-Muller) ----------------------------------

// ln x for positive normal x, within ~2 ulp: x = m·2^e with m in [√½, √2), so
// f = m − 1 is exact and ln(1 + f) = f − f²/2 + f³·P(f) (Cephes-style minimax
// P, degree 8); e·ln2 is added in two parts so the sum keeps its low bits.
// Zero, negatives, subnormals, infinities and NaN are not handled.
inline F Log(F x) {
  F m, e;
  SplitExponent(x, &m, &e);
  const Mask big = Greater(m, Set1(1.41421356237f));
  m = Select(big, Mul(m, Set1(0.5f)), m);
  e = AddWhere(big, e, Set1(1.0f));
  const F f = Sub(m, Set1(1.0f));
  const F z = Mul(f, f);
  static constexpr float kP[] = {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};
  F p = Horner(f, kP);
  F y = Mul(Mul(p, f), z);
  y = MulAdd(e, Set1(-2.12194440e-4f), y);
  y = NegMulAdd(z, Set1(0.5f), y);
  return MulAdd(e, Set1(0.693359375f), Add(f, y));
}

// sin(2πt) and cos(2πt) for |t| <= 2^20, within ~2 ulp (and exact zeros at
// multiples of a quarter turn). Working in turns keeps the reduction exact:
// t = q/4 + f with q an integer and |f| <= 1/8 (t − q/4 is representable), then
// sin(2πf) and cos(2πf) are Taylor series in f (degree 9 and 10; truncation
// below 3e-9 relative) and q mod 4 picks the quadrant.
inline void SinCos2Pi(F t, F* sin_out, F* cos_out) {
  const F q = Round(Mul(t, Set1(4.0f)));
  const F f = NegMulAdd(q, Set1(0.25f), t);
  const F f2 = Mul(f, f);
  static constexpr float kS[] = {42.058693944897634f, -76.70585975306136f, 81.60524927607504f, -41.341702240399755f, 6.283185307179586f};
  F s = Horner(f2, kS);
  s = Mul(s, f);
  static constexpr float kC[] = {-26.426256783374388f, 60.24464137187664f, -85.45681720669371f, 64.93939402266828f, -19.739208802178716f, 1.0f};
  F c = Horner(f2, kC);
  // Quadrant q: odd q swaps sin and cos; sin is negated for q = 2, 3 and cos
  // for q = 1, 2 (mod 4), i.e. by bit 1 of q and of q + 1.
  const I qi = ToInt(q);
  const Mask swap = OddLanes(qi);
  const I two = SetI(2);
  const I sin_sign = ShiftLeft<30>(AndI(qi, two));
  const I cos_sign = ShiftLeft<30>(AndI(AddI(qi, SetI(1)), two));
  const F sv = Select(swap, c, s), cv = Select(swap, s, c);
  *sin_out = AsFloat(XorI(AsInt(sv), sin_sign));
  *cos_out = AsFloat(XorI(AsInt(cv), cos_sign));
}
