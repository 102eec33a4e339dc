// Primitive: Philox stream tiles, the random-stream fill kernels, one set per ISA
// level (cpu/random-inl.h; the scalar level is frugal/random.h's references).
//
// Each fills out[0..n) with elements [offset, offset + n) of stream `id`
// (DESIGN.md, "Random streams (v1)"), single-threaded, with no argument checks
// and no allocation. The front end (native/src/core/random.cc) validates and
// splits big calls over the pool; kernels that regenerate a tile of a stream
// inside their own loop (SLaSh's W_l, GradDrop's masks) call these directly:
//   RandomKernelsFor(ActiveIsa()).normal(id, offset, n, scale, tile);
// Every level gives the same element for the same stream index whatever the
// offset and n of the call (tails reuse the vector code), so tiles agree with
// one big call. Words, uniform and Rademacher are bit-exact across levels;
// normals agree with the reference to a few ulp (see native/tests/test_random.cc).
#pragma once
#include <cstdint>

#include "frugal/isa.h"
#include "frugal/random.h"

namespace frugal {

// Philox4x32-10 round constants (Random123): the two multipliers and the Weyl
// increments of the two key words.
constexpr uint32_t kPhiloxMul0 = 0xD2511F53u, kPhiloxMul1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxWeyl0 = 0x9E3779B9u, kPhiloxWeyl1 = 0xBB67AE85u;

using RandomWordsFn = void (*)(StreamId id, uint64_t offset, int64_t n, uint32_t* out);
using RandomUniformFn = void (*)(StreamId id, uint64_t offset, int64_t n, float* out);
// Normal and Rademacher values are multiplied by `scale`.
using RandomScaledFn = void (*)(StreamId id, uint64_t offset, int64_t n, float scale, float* out);

struct RandomKernels {
  RandomWordsFn words;
  RandomUniformFn uniform;
  RandomScaledFn normal;
  RandomScaledFn rademacher;
};

// The kernels of an ISA level (the caller makes sure the CPU has it). The
// reference level uses the Random*Reference functions of frugal/random.h.
const RandomKernels& RandomKernelsFor(Isa isa);

// Each level's namespace declares the same kernels.
#define FRUGAL_RANDOM_KERNELS                                                             \
  void RandomWords(StreamId id, uint64_t offset, int64_t n, uint32_t* out);               \
  void RandomUniform(StreamId id, uint64_t offset, int64_t n, float* out);                \
  void RandomNormal(StreamId id, uint64_t offset, int64_t n, float scale, float* out);    \
  void RandomRademacher(StreamId id, uint64_t offset, int64_t n, float scale, float* out);

namespace avx2 {
FRUGAL_RANDOM_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_RANDOM_KERNELS
}  // namespace avx512
#undef FRUGAL_RANDOM_KERNELS

}  // namespace frugal
