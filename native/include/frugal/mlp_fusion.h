// The fused FFN of MLP Fusion (Wei et al., ICML 2023): K centroids stand for the
// p neurons of y = W2·σ(W1·x + b1) + b2, each weighted by its cluster size n_k:
//   pre = x·W1ᵀ + b1,   h = σ(pre)·diag(n),   y = h·W2ᵀ + b2
// W1 [K, d], W2 [d, K] in PyTorch Linear layout. The first GEMM runs bias,
// activation and the column scale n in its epilogue and stores pre there too;
// counts = null is the plain FFN (n = 1). n is fixed: it gets no gradient.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/gemm.h"
#include "frugal/status.h"

namespace frugal {

struct FusedFfnParams {
  int64_t tokens = 0, d = 0, K = 0;
  const float* x = nullptr;       // [tokens, d]
  const float* W1 = nullptr;      // [K, d]
  const float* b1 = nullptr;      // [K] or null
  const float* W2 = nullptr;      // [d, K]
  const float* b2 = nullptr;      // [d] or null
  const float* counts = nullptr;  // [K] or null
  Activation activation = Activation::kGelu;  // kGelu or kRelu
  float* pre = nullptr;           // [tokens, K] out
  float* y = nullptr;             // [tokens, d] out
};

struct FusedFfnBackwardParams {
  int64_t tokens = 0, d = 0, K = 0;
  const float* x = nullptr;       // [tokens, d]
  const float* W1 = nullptr;      // [K, d]
  const float* W2 = nullptr;      // [d, K]
  const float* counts = nullptr;  // [K] or null
  const float* pre = nullptr;     // [tokens, K], from the forward
  const float* dy = nullptr;      // [tokens, d]
  Activation activation = Activation::kGelu;
  float* dx = nullptr;   // [tokens, d] out, or null
  float* dW1 = nullptr;  // [K, d] out
  float* db1 = nullptr;  // [K] out, or null
  float* dW2 = nullptr;  // [d, K] out
  float* db2 = nullptr;  // [d] out, or null
};

Status FusedFfn(const Context& ctx, const FusedFfnParams& p);
// dh = dy·W2, dpre = dh·n·σ'(pre), h = σ(pre)·n (recomputed from pre):
// dW2 = dyᵀ·h, db2 = Σ dy, dW1 = dpreᵀ·x, db1 = Σ dpre, dx = dpre·W1.
Status FusedFfnBackward(const Context& ctx, const FusedFfnBackwardParams& p);

// Scalar references in double: the tests' oracles.
Status FusedFfnReference(const FusedFfnParams& p);
Status FusedFfnBackwardReference(const FusedFfnBackwardParams& p);

}  // namespace frugal
