// GradDrop (O'Neill & Dutta 2023): random masks on parameter gradients, drawn
// from random streams v1 so that no mask is ever stored (DESIGN.md, "Gradient
// masks"), and the masked weight gradient of a linear layer, whose dropped
// parts are never computed.
//
// A [rows, cols] tensor is cut into units by its granularity: element
// i·cols + j, row i, column j, block ⌊i/br⌋·⌈cols/bc⌉ + ⌊j/bc⌋, or the whole
// tensor. Unit u (< 2³⁴) of tensor `layer` at step `step` is dropped iff the
// uniform value of Philox counter (⌊u/4⌋, step, layer, 2), word u mod 4 (key
// from the seed) is < p. A kept unit's multiplier is 1/(1−p) with rescale, else
// 1; a dropped unit's is 0, and it zeroes its values exactly (even NaN).
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

enum class MaskGranularity { kElement = 0, kRow = 1, kColumn = 2, kBlock = 3, kTensor = 4 };

struct GradMask {
  int64_t rows = 0, cols = 0;  // the tensor's shape (a 1-D tensor has rows = 1)
  MaskGranularity granularity = MaskGranularity::kElement;
  int64_t blockRows = 1, blockCols = 1;  // kBlock only
  double p = 0.0;                        // drop probability in [0, 1]
  bool rescale = false;                  // kept units × 1/(1−p) (not when p = 1)
  uint64_t seed = 0;
  uint32_t step = 0, layer = 0;
};

// The masked weight gradient of y = x·Wᵀ + b over `tokens` rows:
//   weight = beta·weight + mask ⊙ (Gᵀ·A), A [tokens, din], G [tokens, dout],
//   weight [dout, din] (mask.rows = dout, mask.cols = din);
//   bias   = beta·bias + m ⊙ Σ_t G[t, :] (when bias is not null), with m the row
//            multipliers for row and tensor granularity and 1 for the others.
// beta = 0 never reads the old values. Dropped rows, columns, blocks and
// tensors of Gᵀ·A are not computed; element masks are applied in the GEMM's
// epilogue.
struct MaskedLinearGradParams {
  int64_t tokens = 0, din = 0, dout = 0;
  const float* A = nullptr;
  const float* G = nullptr;
  float* weight = nullptr;
  float* bias = nullptr;
  float beta = 0.0f;
  GradMask mask;
};

// Checks a mask (shape, granularity, block, p): shared by every backend.
Status ValidateGradMask(const char* op, const GradMask& m);

// out[i·cols + j] = the multiplier of element (i, j).
Status GradDropMask(const Context& ctx, const GradMask& m, float* out);
// grad[i·cols + j] = its multiplier · grad (exact 0 where dropped), in place.
Status GradDropApply(const Context& ctx, const GradMask& m, float* grad);
Status GradDropLinearGrad(const Context& ctx, const MaskedLinearGradParams& p);

// The block shape [br, bc] whose dropped blocks the CPU kernel skips best at the
// active ISA level: a multiple of the GEMM's register tile.
void GradDropPreferredBlock(int64_t* br, int64_t* bc);

// Scalar references (the oracles of the tests): one Philox block per unit,
// sums in double.
Status GradDropMaskReference(const GradMask& m, float* out);
Status GradDropApplyReference(const GradMask& m, float* grad);
Status GradDropLinearGradReference(const MaskedLinearGradParams& p);

}  // namespace frugal
