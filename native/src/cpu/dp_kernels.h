// The vector loop of the dp family that neither GEMM nor the shared primitives
// (primitives/vector.h: row norms, accumulation, column sums) cover: the fused
// Gram norm of one sample. One implementation per ISA level; dp.cc picks one
// with DpKernelsFor(ActiveIsa()).
#pragma once
#include <cstdint>

#include "frugal/isa.h"

namespace frugal {

struct DpKernels {
  // ⟨AAᵀ, GGᵀ⟩ of one sample, A [T, din] and G [T, dout] row-major, without storing
  // either Gram: blocks of token pairs (s, t) with t ≥ s, both Gram blocks as dot
  // products in registers, multiplied at once; off-diagonal blocks count twice.
  // Cost T(T+1)/2·(din + dout) multiply-adds, no GEMM packing, no workspace.
  double (*gram_norm)(const float* A, const float* G, int64_t T, int64_t din, int64_t dout);
};

// Each level's namespace declares the same kernels.
#define FRUGAL_DP_KERNELS                                                                 \
  double DpGramNorm(const float* A, const float* G, int64_t T, int64_t din, int64_t dout);

namespace ref {
FRUGAL_DP_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_DP_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_DP_KERNELS
}  // namespace avx512
#undef FRUGAL_DP_KERNELS

const DpKernels& DpKernelsFor(Isa isa);

}  // namespace frugal
