// The random-stream kernels (cpu/random-inl.h) compiled for avx512.
#include "cpu/primitives/streams.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/random-inl.h"
}  // namespace avx512
}  // namespace frugal
