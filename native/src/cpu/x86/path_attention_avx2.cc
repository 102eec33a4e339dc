// The path attention kernels (cpu/path_attention-inl.h) compiled for avx2.
#include "cpu/path_attention_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/path_attention-inl.h"
}  // namespace avx2
}  // namespace frugal
