// GEMM in fp32 with fused epilogues:
//   C[b] = act(alpha * op(A[b]) * op(B[b]) + bias) * colScale + residual[b] + beta * C[b]
// op(X) is X or Xᵀ. A is [batch, M, K] (or [batch, K, M] transposed), B is [K, N]
// (or [N, K]) shared by every batch when strideB == 0, else one per batch.
// Row-major with leading dimensions; every pointer may be null where optional.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

enum class Activation { kNone = 0, kGelu = 1 };  // GELU is the exact erf form

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
  Activation activation = Activation::kNone;
  // CUDA only: allow TF32 tensor cores (10-bit mantissa products, fp32 accumulate)
  // for large problems. Off by default so CUDA matches the CPU to fp32 tolerance.
  bool allowTf32 = false;
};

// Checks the parameters (sizes, leading dimensions, null pointers) and runs on
// ctx.device: the CPU kernel of the active ISA level, or CUDA.
Status Gemm(const Context& ctx, const GemmParams& p);

// The scalar reference (double accumulation); the oracle of the tests.
Status GemmReference(const GemmParams& p);

// Checks a GemmParams without running it (shared by every backend).
Status ValidateGemm(const GemmParams& p);

}  // namespace frugal
