// LayerNorm over the last axis of x [rows, cols]:
//   y = gamma ⊙ (x − μ) · rstd + beta,  rstd = 1/√(σ² + eps)  (biased variance)
// The forward saves mean and rstd [rows] for the backward.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

struct LayerNormParams {
  int64_t rows = 0, cols = 0;
  const float* x = nullptr;      // [rows, cols]
  const float* gamma = nullptr;  // [cols]
  const float* beta = nullptr;   // [cols]
  float eps = 1e-5f;
  float* y = nullptr;     // [rows, cols]
  float* mean = nullptr;  // [rows]
  float* rstd = nullptr;  // [rows]
};

struct LayerNormBackwardParams {
  int64_t rows = 0, cols = 0;
  const float* dy = nullptr;    // [rows, cols]
  const float* x = nullptr;     // [rows, cols]
  const float* gamma = nullptr; // [cols]
  const float* mean = nullptr;  // [rows] saved by the forward
  const float* rstd = nullptr;  // [rows]
  float* dx = nullptr;          // [rows, cols]
  float* dgamma = nullptr;      // [cols], overwritten (nullptr: not computed)
  float* dbeta = nullptr;       // [cols], overwritten (nullptr: not computed)
};

Status LayerNorm(const Context& ctx, const LayerNormParams& p);
Status LayerNormBackward(const Context& ctx, const LayerNormBackwardParams& p);
Status LayerNormReference(const LayerNormParams& p);
Status LayerNormBackwardReference(const LayerNormBackwardParams& p);

#ifdef FRUGAL_WITH_CUDA
Status LayerNormCuda(const LayerNormParams& p, void* stream);
Status LayerNormBackwardCuda(const LayerNormBackwardParams& p, void* stream);
#endif

}  // namespace frugal
