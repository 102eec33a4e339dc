// LayerNorm over the last axis of x [rows, cols]:
//   y = gamma ⊙ (x − μ) · rstd + beta,  rstd = 1/√(σ² + eps)  (biased variance)
// The forward saves mean and rstd [rows] for the backward. The backward gives
//   dx = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂)),  g = gamma ⊙ dy,  x̂ = (x − μ)·rstd,
//   dgamma = Σ_rows dy ⊙ x̂,  dbeta = Σ_rows dy,
// the sums over rows in a fixed order (the same bits at any thread count).
// Outputs may alias inputs exactly (y = x, dx = dy); rows may be 0, cols >= 1
// when rows > 0; eps must be finite and > 0. Null data pointers give kNative.
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
  float* mean = nullptr;  // [rows] (nullptr: not saved, e.g. for inference)
  float* rstd = nullptr;  // [rows] (nullptr: not saved)
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
  float* dbeta = nullptr;       // [cols], overwritten (give both or neither)
};

Status LayerNorm(const Context& ctx, const LayerNormParams& p);
Status LayerNormBackward(const Context& ctx, const LayerNormBackwardParams& p);
Status LayerNormReference(const LayerNormParams& p);
// Argument checks shared by every backend and the reference (shapes, eps, null pointers).
Status CheckLayerNormParams(const LayerNormParams& p);
Status CheckLayerNormBackwardParams(const LayerNormBackwardParams& p);
Status LayerNormBackwardReference(const LayerNormBackwardParams& p);

}  // namespace frugal
