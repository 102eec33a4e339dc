// MLP Fusion inner loops, one set per ISA level (internal to the core). The
// front end (native/src/core/mlp_fusion.cc) runs the GEMMs around them.
#pragma once
#include <cstdint>

#include "frugal/gemm.h"
#include "frugal/isa.h"

namespace frugal {

struct MlpFusionKernels {
  // One row of K hidden units, from the pre-activation and the gradient dh of
  // h: h[k] = σ(pre[k])·n[k] and dpre[k] = dh[k]·n[k]·σ'(pre[k]) (n = 1 when
  // counts is null). dpre may alias dh.
  void (*gate_backward)(int64_t K, const float* pre, const float* dh, const float* counts, Activation act, float* h,
                        float* dpre);
};

// The kernels of an ISA level (the caller makes sure the CPU has it).
const MlpFusionKernels& MlpFusionKernelsFor(Isa isa);

// Each level's namespace declares the same kernels.
#define FRUGAL_MLP_FUSION_KERNELS                                                                            \
  void GateBackwardRow(int64_t K, const float* pre, const float* dh, const float* counts, Activation act, float* h, \
                       float* dpre);

namespace ref {
FRUGAL_MLP_FUSION_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_MLP_FUSION_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_MLP_FUSION_KERNELS
}  // namespace avx512
#undef FRUGAL_MLP_FUSION_KERNELS

}  // namespace frugal
