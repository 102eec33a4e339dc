// Random streams, written once over the vector wrapper and compiled per ISA by
// x86/random_<isa>.cc: the Philox engine of simd/philox-inl.h, whose words are
// turned into the requested values and written in stream order, 4·kLanes
// elements per group.

#include "cpu/simd/philox-inl.h"

namespace random_detail {

// Box–Muller on words a and b of each block: (r·cos 2πu2, r·sin 2πu2)·scale.
inline void BoxMuller(I a, I b, F scale, I* c, I* s) {
  const F u1 = Mul(ToFloat(AddI(ShiftRight<8>(a), SetI(1))), Set1(0x1p-24f));
  const F r = Mul(Sqrt(Mul(Log(u1), Set1(-2.0f))), scale);
  F sn, cs;
  SinCos2Pi(ToUnit(b), &sn, &cs);
  *c = AsInt(Mul(r, cs));
  *s = AsInt(Mul(r, sn));
}

}  // namespace random_detail

void RandomWords(StreamId id, uint64_t offset, int64_t n, uint32_t* out) {
  random_detail::Fill(id, offset, n, out, [](const random_detail::Words4& w) { return w; });
}

void RandomUniform(StreamId id, uint64_t offset, int64_t n, float* out) {
  using random_detail::ToUnit;
  random_detail::Fill(id, offset, n, out, [](const random_detail::Words4& w) {
    return random_detail::Words4{AsInt(ToUnit(w.w0)), AsInt(ToUnit(w.w1)), AsInt(ToUnit(w.w2)), AsInt(ToUnit(w.w3))};
  });
}

void RandomNormal(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  const F s = Set1(scale);
  random_detail::Fill(id, offset, n, out, [s](const random_detail::Words4& w) {
    random_detail::Words4 r;
    random_detail::BoxMuller(w.w0, w.w1, s, &r.w0, &r.w1);
    random_detail::BoxMuller(w.w2, w.w3, s, &r.w2, &r.w3);
    return r;
  });
}

void RandomRademacher(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  // +scale when w < 2^31, else −scale: the word's top bit flips scale's sign.
  const I s = AsInt(Set1(scale)), top = SetI(0x80000000u);
  random_detail::Fill(id, offset, n, out, [s, top](const random_detail::Words4& w) {
    return random_detail::Words4{XorAnd(s, w.w0, top), XorAnd(s, w.w1, top), XorAnd(s, w.w2, top), XorAnd(s, w.w3, top)};
  });
}
