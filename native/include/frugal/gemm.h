// GEMM in fp32 with fused epilogues:
//   pre  = mask ⊙ alpha * op(A[b]) * op(B[b]) + bias     (stored too when asked)
//   C[b] = act(pre) * colScale + residual[b] + beta * C[b]
// op(X) is X or Xᵀ. A is [batch, M, K] (or [batch, K, M] transposed), B is [K, N]
// (or [N, K]) shared by every batch when strideB == 0, else one per batch.
// Row-major with leading dimensions; every pointer may be null where optional.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

enum class Activation { kNone = 0, kGelu = 1, kRelu = 2 };  // GELU is the exact erf form

// An optional multiplier per element of C (CPU only), given by its owner
// through two callbacks: GradDrop's masked weight gradients. A multiplier is
// >= 0; 0 drops the element's product exactly (even a NaN one), and a tile of C
// whose elements are all dropped is never computed.
struct GemmOutputMask {
  // out[c] = multiplier of C[row][col0 + c] for c < n (n <= 64), the same on every batch.
  void (*multipliers)(const void* self, int64_t row, int64_t col0, int n, float* out) = nullptr;
  // True when every element of rows [r0, r1) × columns [c0, c1) is dropped.
  bool (*allDropped)(const void* self, int64_t r0, int64_t r1, int64_t c0, int64_t c1) = nullptr;
  const void* self = nullptr;
};

struct GemmParams {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  bool transA = false, transB = false;
  const float* A = nullptr;
  int64_t lda = 0, strideA = 0;  // strideA: elements between batches
  const float* B = nullptr;
  int64_t ldb = 0, strideB = 0;  // strideB == 0: B shared across the batch
  float* C = nullptr;
  int64_t ldc = 0, strideC = 0;
  float alpha = 1.0f, beta = 0.0f;
  const float* bias = nullptr;      // [N], added before the activation
  const float* colScale = nullptr;  // [N], multiplies after the activation
  const float* residual = nullptr;  // [batch, M, N] with ldr/strideR, added after colScale
  int64_t ldr = 0, strideR = 0;
  // [batch, M, N] with ldp/strideP: receives pre, the value before the activation
  // (what a backward through the activation needs), or null.
  float* preActivation = nullptr;
  int64_t ldp = 0, strideP = 0;
  Activation activation = Activation::kNone;
  const GemmOutputMask* outputMask = nullptr;  // CPU only (E_DEVICE on CUDA)
  // CUDA only: allow TF32 tensor cores (10-bit mantissa products, fp32 accumulate)
  // for large problems. Off by default so CUDA matches the CPU to fp32 tolerance.
  bool allowTf32 = false;
};

// The weight gradient of a linear layer y = x·Wᵀ over `tokens` rows, the GEMM every
// linear backward runs: weight [dout, din] = Gᵀ·A with A [tokens, din] and
// G [tokens, dout] row-major. Callers add batching, alpha, beta or a mask.
GemmParams WeightGradientGemm(int64_t tokens, int64_t din, int64_t dout, const float* A, const float* G, float* weight);

// Checks the parameters (sizes, leading dimensions, null pointers) and runs on
// ctx.device: the CPU kernel of the active ISA level, or CUDA.
Status Gemm(const Context& ctx, const GemmParams& p);

// The scalar reference (double accumulation); the oracle of the tests.
Status GemmReference(const GemmParams& p);

// The register tile (rows × columns of C per micro-kernel call) of the active
// ISA level's CPU kernel; unchanged at the reference level, which has none.
void GemmRegisterTile(int* rows, int* cols);

// Checks a GemmParams without running it (shared by every backend).
Status ValidateGemm(const GemmParams& p);

}  // namespace frugal
