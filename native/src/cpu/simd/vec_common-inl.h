// The wrapper's types and the operations whose intrinsics differ between AVX2
// and AVX-512 only by their width: written once, included inside namespace
// avx2 or avx512 by vec_<isa>.h with FRUGAL_VEC_BITS set to 256 or 512.
// FRUGAL_MM(op) names the ISA's _mm256_op or _mm512_op; FRUGAL_MM_SI(op_si)
// its _mm256_op_si256 or _mm512_op_si512 integer form.

#define FRUGAL_MM(op) FRUGAL_PASTE3(_mm, FRUGAL_VEC_BITS, _##op)
#define FRUGAL_MM_SI(stem) FRUGAL_PASTE4(_mm, FRUGAL_VEC_BITS, _##stem, FRUGAL_VEC_BITS)

using F = FRUGAL_PASTE3(__m, FRUGAL_VEC_BITS, );
using I = FRUGAL_PASTE3(__m, FRUGAL_VEC_BITS, i);
using D = FRUGAL_PASTE3(__m, FRUGAL_VEC_BITS, d);  // the fp64 half of an F
constexpr int kLanes = FRUGAL_VEC_BITS / 32;

// ---- float lanes ------------------------------------------------------------
FRUGAL_VEC F Zero() { return FRUGAL_MM(setzero_ps)(); }
FRUGAL_VEC F Set1(float x) { return FRUGAL_MM(set1_ps)(x); }
FRUGAL_VEC F Load(const float* p) { return FRUGAL_MM(loadu_ps)(p); }
FRUGAL_VEC F LoadAligned(const float* p) { return FRUGAL_MM(load_ps)(p); }
FRUGAL_VEC void Store(float* p, F v) { FRUGAL_MM(storeu_ps)(p, v); }
FRUGAL_VEC F Add(F a, F b) { return FRUGAL_MM(add_ps)(a, b); }
FRUGAL_VEC F Sub(F a, F b) { return FRUGAL_MM(sub_ps)(a, b); }
FRUGAL_VEC F Mul(F a, F b) { return FRUGAL_MM(mul_ps)(a, b); }
FRUGAL_VEC F Div(F a, F b) { return FRUGAL_MM(div_ps)(a, b); }
FRUGAL_VEC F Min(F a, F b) { return FRUGAL_MM(min_ps)(a, b); }
FRUGAL_VEC F Max(F a, F b) { return FRUGAL_MM(max_ps)(a, b); }
FRUGAL_VEC F Sqrt(F a) { return FRUGAL_MM(sqrt_ps)(a); }
FRUGAL_VEC F MulAdd(F a, F b, F c) { return FRUGAL_MM(fmadd_ps)(a, b, c); }     // a·b + c
FRUGAL_VEC F NegMulAdd(F a, F b, F c) { return FRUGAL_MM(fnmadd_ps)(a, b, c); }  // c − a·b
FRUGAL_VEC F MulSub(F a, F b, F c) { return FRUGAL_MM(fmsub_ps)(a, b, c); }     // a·b − c
FRUGAL_VEC F Or(F a, F b) { return FRUGAL_MM(or_ps)(a, b); }
FRUGAL_VEC F And(F a, F b) { return FRUGAL_MM(and_ps)(a, b); }
FRUGAL_VEC F AndNot(F a, F b) { return FRUGAL_MM(andnot_ps)(a, b); }  // ~a & b

// ---- 32-bit integer lanes -------------------------------------------------------
FRUGAL_VEC I SetI(uint32_t x) { return FRUGAL_MM(set1_epi32)(static_cast<int>(x)); }
FRUGAL_VEC I AddI(I a, I b) { return FRUGAL_MM(add_epi32)(a, b); }
FRUGAL_VEC I SubI(I a, I b) { return FRUGAL_MM(sub_epi32)(a, b); }
FRUGAL_VEC I AndI(I a, I b) { return FRUGAL_MM_SI(and_si)(a, b); }
FRUGAL_VEC I OrI(I a, I b) { return FRUGAL_MM_SI(or_si)(a, b); }
FRUGAL_VEC I XorI(I a, I b) { return FRUGAL_MM_SI(xor_si)(a, b); }
template <int N> FRUGAL_VEC I ShiftLeft(I a) { return FRUGAL_MM(slli_epi32)(a, N); }
template <int N> FRUGAL_VEC I ShiftRight(I a) { return FRUGAL_MM(srli_epi32)(a, N); }  // logical
FRUGAL_VEC F ToFloat(I a) { return FRUGAL_MM(cvtepi32_ps)(a); }
FRUGAL_VEC I ToInt(F a) { return FRUGAL_MM(cvtps_epi32)(a); }  // round to nearest
FRUGAL_VEC I UnpackLo32(I a, I b) { return FRUGAL_MM(unpacklo_epi32)(a, b); }
FRUGAL_VEC I UnpackHi32(I a, I b) { return FRUGAL_MM(unpackhi_epi32)(a, b); }
FRUGAL_VEC I UnpackLo64(I a, I b) { return FRUGAL_MM(unpacklo_epi64)(a, b); }
FRUGAL_VEC I UnpackHi64(I a, I b) { return FRUGAL_MM(unpackhi_epi64)(a, b); }

// ---- fp64 lanes (sums that must keep full precision) ------------------------------
FRUGAL_VEC D ZeroD() { return FRUGAL_MM(setzero_pd)(); }
FRUGAL_VEC D AddD(D a, D b) { return FRUGAL_MM(add_pd)(a, b); }
FRUGAL_VEC D LoadD(const double* p) { return FRUGAL_MM(loadu_pd)(p); }
FRUGAL_VEC void StoreD(double* p, D v) { FRUGAL_MM(storeu_pd)(p, v); }

#undef FRUGAL_MM
#undef FRUGAL_MM_SI
