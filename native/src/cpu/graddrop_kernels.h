// GradDrop's inner loops, one set per ISA level (cpu/graddrop-inl.h; the scalar
// level in cpu/ref/graddrop_ref.cc), picked with GradDropKernelsFor(ActiveIsa()).
#pragma once
#include <cstdint>

#include "frugal/isa.h"
#include "cpu/primitives/streams.h"  // StreamId, and the Philox constants of the engine

namespace frugal {

// What a kernel needs to draw the multipliers of units: unit u is dropped iff
// the top 24 bits of word u mod 4 of counter block (step·2³² + ⌊u/4⌋) of stream
// `id` (seed, sub = layer, tag 2) are < threshold = ⌈p·2²⁴⌉, which is exactly
// "its uniform value is < p".
struct MaskDraw {
  StreamId id;
  uint32_t step = 0;
  float threshold = 0.0f;  // an integer in [0, 2²⁴], exact in float
  float scale = 1.0f;      // a kept unit's multiplier
};

struct GradDropKernels {
  // out[k] = the multiplier of unit u0 + k (0 or d.scale), k < n.
  void (*unitMultipliers)(const MaskDraw& d, uint64_t u0, int64_t n, float* out);
  // x[k] = m[k] > 0 ? x[k]·m[k] : 0 (a dropped NaN becomes 0), k < n.
  void (*multiplyKept)(float* x, const float* m, int64_t n);
};

const GradDropKernels& GradDropKernelsFor(Isa isa);

// Each level's namespace declares the same kernels.
#define FRUGAL_GRADDROP_KERNELS                                                         \
  void UnitMultipliers(const MaskDraw& d, uint64_t u0, int64_t n, float* out);         \
  void MultiplyKept(float* x, const float* m, int64_t n);

namespace ref {
FRUGAL_GRADDROP_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_GRADDROP_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_GRADDROP_KERNELS
}  // namespace avx512
#undef FRUGAL_GRADDROP_KERNELS

}  // namespace frugal
