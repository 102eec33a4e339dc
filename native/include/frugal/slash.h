// Random-projection layers: SLaSh and JR-WARP (Gupta, Galstyan, Ver Steeg, ACL
// Findings 2023). One trainable vector z (d) is projected by fixed matrices W_l
// (d×H) into a shift b_l = z·W_l for every layer l. W_l is never stored: element
// (i, j) is element i·H + j of random stream (seed, sub = l, tag 1) times 1/√d
// (DESIGN.md, "Random streams (v1)"), regenerated tile by tile inside the kernels.
// Math of the fused output block in DESIGN.md, "Kernel contracts".
//
// All pointers live on ctx.device. Results do not depend on the thread count.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

enum class ProjectionDist { kNormal = 0, kRademacher = 1 };

// The fixed matrices W_0 … W_{layers−1}, each [dim, hidden].
struct ProjectionParams {
  uint64_t seed = 0;
  int64_t layers = 0, dim = 0, hidden = 0;
  ProjectionDist dist = ProjectionDist::kNormal;
};

// shifts [layers, hidden]: shifts[l] = z·W_l for z [dim].
Status SlashProject(const Context& ctx, const ProjectionParams& p, const float* z, float* shifts);

// dz [batch, dim]: dz[b] = Σ_l g[b, l]·W_lᵀ for g [batch, layers, hidden]. batch = 1
// is the plain ∂z; batch > 1 gives per-sample ∂z, each W_l tile generated once for
// all samples. batch = 0 is valid and writes nothing.
Status SlashProjectBackward(const Context& ctx, const ProjectionParams& p, int64_t batch, const float* g,
                            float* dz);

// Fused output block: pre = a·Woᵀ + c + h + shift, y = LN(pre) over the last axis.
struct OutputBlockParams {
  int64_t rows = 0, in = 0, hidden = 0;  // N tokens, F = FFN width, H
  const float* a = nullptr;      // [rows, in]
  const float* Wo = nullptr;     // [hidden, in]
  const float* c = nullptr;      // [hidden] output bias
  const float* h = nullptr;      // [rows, hidden] residual
  const float* shift = nullptr;  // [hidden] (nullptr: no shift)
  const float* gamma = nullptr;  // [hidden]
  const float* beta = nullptr;   // [hidden]
  float eps = 1e-5f;
};

// y [rows, hidden]; mean, rstd [rows] saved for the backward (may be null).
// The GEMM writes pre with its bias/residual epilogue, then one in-place pass
// normalises each row.
Status SlashOutputBlock(const Context& ctx, const OutputBlockParams& p, float* y, float* mean, float* rstd);

struct OutputBlockGrads {
  // ∂pre = ∂h [rows, hidden]: always computed (it is the residual's gradient).
  float* dh = nullptr;
  float* dc = nullptr;      // [hidden] Σ_rows ∂pre (may be null)
  float* dshift = nullptr;  // [hidden] the same sum (may be null)
  float* dgamma = nullptr;  // [hidden] (may be null)
  float* dbeta = nullptr;   // [hidden] (may be null)
  // [rows / tokensPerSample, hidden]: Σ over each sample's tokens (null: not asked).
  float* dshiftPerSample = nullptr;
  int64_t tokensPerSample = 0;
  float* da = nullptr;   // [rows, in] = ∂pre·Wo (null: not asked)
  float* dWo = nullptr;  // [hidden, in] = ∂preᵀ·a (null: not asked)
};

// Backward of SlashOutputBlock given dy [rows, hidden] and the saved mean and rstd.
// With y (the forward's output) and every gamma nonzero, x̂ = (y − beta)/gamma is
// recovered from y; otherwise (y null, or a zero in gamma) pre is recomputed by
// the forward GEMM. Column sums run over fixed row blocks in a fixed order.
Status SlashOutputBlockBackward(const Context& ctx, const OutputBlockParams& p, const float* dy, const float* y,
                                const float* mean, const float* rstd, const OutputBlockGrads& g);

// Inference: cOut[j] = c[j] + shift[j] for j < n (n = hidden for one layer's
// output bias), so the folded layer is a plain linear layer.
Status SlashFoldShift(const Context& ctx, int64_t n, const float* c, const float* shift, float* cOut);

// JR-WARP on packed batches: sample b owns tokens [offsets[b], offsets[b+1]) of
// x [total, hidden] (offsets [batch + 1], int32, host memory, offsets[0] = 0).
// PromptInsert: out [total + batch, hidden] with the prompt row first in each
// sample (out offsets are offsets[b] + b). PromptExtract (its backward): dx
// [total, hidden] from dout without the prompt rows, and dprompt [hidden] = Σ_b of
// the prompt rows (null: not asked). PromptAdd: x[offsets[b]] += prompt for every
// b (in place; its backward is PromptExtract's dprompt sum with dx = dout).
Status SlashPromptInsert(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden, const float* x,
                         const float* prompt, float* out);
Status SlashPromptExtract(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden,
                          const float* dout, float* dx, float* dprompt);
Status SlashPromptAdd(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden, float* x,
                      const float* prompt);
// dprompt [hidden] = Σ_b x[offsets[b]] (the gradient of PromptAdd's prompt).
Status SlashPromptSum(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden, const float* x,
                      float* dprompt);

// Scalar references (double accumulation, CPU memory): the oracles of the tests.
Status SlashProjectReference(const ProjectionParams& p, const float* z, float* shifts);
Status SlashProjectBackwardReference(const ProjectionParams& p, int64_t batch, const float* g, float* dz);
Status SlashOutputBlockReference(const OutputBlockParams& p, float* y, float* mean, float* rstd);
// The backward reference recomputes pre and its statistics in double from p.
Status SlashOutputBlockBackwardReference(const OutputBlockParams& p, const float* dy, const OutputBlockGrads& g);

// Checks shared by every backend.
Status CheckProjectionParams(const ProjectionParams& p);
Status CheckOutputBlockParams(const OutputBlockParams& p);

}  // namespace frugal
