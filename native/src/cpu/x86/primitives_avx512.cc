// The shared primitives (cpu/primitives-inl.h) compiled for avx512.
#include "cpu/primitives/vector.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/primitives-inl.h"
}  // namespace avx512
}  // namespace frugal
