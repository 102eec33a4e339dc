// The path attention kernels (cpu/path_attention-inl.h) compiled for avx512.
#include "cpu/path_attention_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/path_attention-inl.h"
}  // namespace avx512
}  // namespace frugal
