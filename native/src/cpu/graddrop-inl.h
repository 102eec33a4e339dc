// GradDrop's mask kernels, written once over the vector wrapper and compiled
// per ISA by x86/graddrop_<isa>.cc: unit multipliers straight from the Philox
// engine (simd/philox-inl.h), and the masked multiply of apply.

#include "cpu/simd/philox-inl.h"

void UnitMultipliers(const MaskDraw& d, uint64_t u0, int64_t n, float* out) {
  // Units u < 2³⁴, so block step·2³² + ⌊u/4⌋ never carries into the step.
  const uint64_t block = (static_cast<uint64_t>(d.step) << 32) | (u0 >> 2);
  const F threshold = Set1(d.threshold), scale = Set1(d.scale);
  const auto multiplier = [&](I w) { return AsInt(Select(Less(ToFloat(ShiftRight<8>(w)), threshold), Zero(), scale)); };
  random_detail::FillFromBlock(d.id, block, static_cast<int>(u0 & 3), n, out, [&](const random_detail::Words4& w) {
    return random_detail::Words4{multiplier(w.w0), multiplier(w.w1), multiplier(w.w2), multiplier(w.w3)};
  });
}

void MultiplyKept(float* x, const float* m, int64_t n) {
  const auto kept = [](F xv, F mv) { return KeepLanes(Greater(mv, Zero()), Mul(xv, mv)); };
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) Store(x + k, kept(Load(x + k), Load(m + k)));
  if (kCheapMasks) {
    if (k < n) {
      const Mask tail = TailMask(n - k);
      StoreTail(x + k, tail, kept(LoadTail(x + k, tail), LoadTail(m + k, tail)));
    }
    return;
  }
  for (; k < n; ++k) x[k] = m[k] > 0.0f ? x[k] * m[k] : 0.0f;
}
