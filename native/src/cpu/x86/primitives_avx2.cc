// The shared primitives (cpu/primitives-inl.h) compiled for avx2.
#include "cpu/primitives/vector.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/primitives-inl.h"
}  // namespace avx2
}  // namespace frugal
