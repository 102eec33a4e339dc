// Primitive: LayerNorm rows (statistics, normalisation and its backward), one set
// per ISA level (cpu/layer_norm-inl.h; the scalar level in ref/layer_norm_ref.cc).
//
// The layerNorm family's front end (native/src/core/layer_norm.cc) splits rows
// over the pool and calls these; families that fuse a LayerNorm into their own
// output block (SLaSh) call them per row too, through LayerNormRowKernelsFor.
#pragma once
#include <cstdint>

#include "frugal/isa.h"
#include "frugal/status.h"

namespace frugal {

// One row of the forward: y = gamma ⊙ (x − μ)·rstd + beta over `cols` (>= 1)
// values. Writes *mean and *rstd. y may alias x.
using LayerNormForwardRowFn = void (*)(int64_t cols, const float* x, const float* gamma,
                                       const float* beta, float eps, float* y, float* mean,
                                       float* rstd);

// One row of the backward, given the forward's mean and rstd:
//   x̂ = (x − μ)·rstd,  g = gamma ⊙ dy,
//   dx = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂))
// and, when dgamma_acc is not null, dgamma_acc += dy ⊙ x̂, dbeta_acc += dy
// (the caller owns the accumulation order). dx may alias dy.
using LayerNormBackwardRowFn = void (*)(int64_t cols, const float* dy, const float* x,
                                        const float* gamma, float mean, float rstd, float* dx,
                                        float* dgamma_acc, float* dbeta_acc);

struct LayerNormRowKernels {
  LayerNormForwardRowFn forward;
  LayerNormBackwardRowFn backward;
};

// The kernels of an ISA level (the caller makes sure the CPU has it).
const LayerNormRowKernels& LayerNormRowKernelsFor(Isa isa);

// Each level's namespace declares the same kernels.
#define FRUGAL_LAYER_NORM_KERNELS                                                                   \
  void LayerNormForwardRow(int64_t cols, const float* x, const float* gamma, const float* beta,     \
                           float eps, float* y, float* mean, float* rstd);                          \
  void LayerNormBackwardRow(int64_t cols, const float* dy, const float* x, const float* gamma,      \
                            float mean, float rstd, float* dx, float* dgamma_acc, float* dbeta_acc);

namespace ref {
FRUGAL_LAYER_NORM_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_LAYER_NORM_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_LAYER_NORM_KERNELS
}  // namespace avx512
#undef FRUGAL_LAYER_NORM_KERNELS

}  // namespace frugal
