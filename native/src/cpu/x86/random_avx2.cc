// The random-stream kernels (cpu/random-inl.h) compiled for avx2.
#include "cpu/primitives/streams.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/random-inl.h"
}  // namespace avx2
}  // namespace frugal
