// Per-sample clipping for DP-SGD (Abadi et al. 2016) without per-sample gradients:
// norms from Gram matrices (ghost clipping, Li et al. 2021) or materialized, chosen
// by cost, and the clipped sum Σᵢ cᵢ GᵢᵀAᵢ as one weighted GEMM (book-keeping, Bu et
// al. 2023). Math in DESIGN.md, "Kernel contracts".
//
// A linear layer's sample i has inputs Aᵢ (T×din) and output gradients Gᵢ (T×dout),
// stored contiguously as A [B, T, din] and G [B, T, dout] (T = 1 for 2-D inputs).
// All pointers live on ctx.device.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/random.h"
#include "frugal/status.h"

namespace frugal {

enum class NormMethod { kAuto = 0, kGram = 1, kMaterialize = 2 };
enum class ClipRule { kAbadi = 0, kAutomatic = 1 };

struct LinearGradParams {
  int64_t B = 0, T = 0, din = 0, dout = 0;
  const float* A = nullptr;  // [B, T, din]
  const float* G = nullptr;  // [B, T, dout]
};

// The cheaper method for one sample: Gram costs T²(din + dout), materializing T·din·dout.
NormMethod ChooseNormMethod(int64_t T, int64_t din, int64_t dout);

// weightSq[i] = ‖GᵢᵀAᵢ‖²_F and, when biasSq is not null, biasSq[i] = ‖Σ_t g_it‖².
// kAuto resolves with ChooseNormMethod. When perSample [B, dout, din] is not null the
// materialized gradients GᵢᵀAᵢ are kept there for ClippedLinearGrad (the method must
// resolve to kMaterialize): where materializing is the cheaper way to the norms (long
// sequences), the step then pays for the per-sample GEMMs once instead of twice.
Status LinearGradNorms(const Context& ctx, const LinearGradParams& p, NormMethod method, float* weightSq,
                       float* biasSq, float* perSample = nullptr);

// factors[i] = min(1, C/(norms[i] + 1e-6)) (Abadi) or C/(norms[i] + 0.01) (automatic);
// norms are L2 norms (not squared). C ≥ 0.
Status ClipFactors(const Context& ctx, const float* norms, int64_t B, float C, ClipRule rule, float* factors);

// weight [dout, din] = Σᵢ cᵢ GᵢᵀAᵢ and, when bias is not null, bias [dout] = Σᵢ cᵢ Σ_t g_it.
// The weight is one GEMM over all B·T rows, or, given the perSample gradients kept by
// LinearGradNorms, their weighted sum (a pass over memory instead of a GEMM). B = 0
// gives zeros.
Status ClippedLinearGrad(const Context& ctx, const LinearGradParams& p, const float* factors, float* weight,
                         float* bias, const float* perSample = nullptr);

// Per-sample vectors rows [B, p]: factors[i] from ‖rowᵢ‖ by `rule`, sum [p] = Σᵢ cᵢ rowᵢ.
Status ClipRows(const Context& ctx, const float* rows, int64_t B, int64_t p, float C, ClipRule rule,
                float* sum, float* factors);

// t[0..n) += std · noise, where t[e] takes draw d = offset + e of stream `id` (tag kTagDpNoise):
//   secure = false: draw d is element d of the stream;
//   secure = true:  draw d is (elements 4d, 4d+1, 4d+2, 4d+3 summed) / 2, still N(0, 1), so
//                   that no single Box–Muller output can be read back from the low bits.
// `offset` lets several tensors of one step take disjoint ranges of one stream.
Status AddNoise(const Context& ctx, float* t, int64_t n, float std, StreamId id, uint64_t offset, bool secure);

// Scalar references (the oracles of the tests): double accumulation, CPU memory.
Status LinearGradNormsReference(const LinearGradParams& p, NormMethod method, float* weightSq, float* biasSq);
Status ClippedLinearGradReference(const LinearGradParams& p, const float* factors, float* weight, float* bias);
Status ClipRowsReference(const float* rows, int64_t B, int64_t p, float C, ClipRule rule, float* sum,
                         float* factors);
Status AddNoiseReference(float* t, int64_t n, float std, StreamId id, uint64_t offset, bool secure);
float ClipFactor(float norm, float C, ClipRule rule);

}  // namespace frugal
