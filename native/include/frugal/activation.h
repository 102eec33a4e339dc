// Elementwise GELU (exact erf form: x·½(1 + erf(x/√2))) and its backward, the
// logistic sigmoid 1/(1 + e^−x) and its backward, and row softmax over the last
// axis of [rows, cols] (max-subtracted, exact exp).
// The AVX2/AVX-512 paths are within ~1e-6 absolute (2e-6 relative) of the
// float64 formulas for GELU and its gradient, a few ulp for softmax and for
// sigmoid (relative; below x ≈ −88.7, where e^−x overflows, sigmoid gives 0 for
// a true value under 1e-38) and 2 ulp for its gradient. Sigmoid: ±inf give 1/0
// exactly, NaN stays NaN. Softmax:
// −inf entries give 0; a row with NaN or +inf, or only −inf, gives NaN.
// Negative sizes give kShape, null data pointers (with n > 0) kNative.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

// y[i] = gelu(x[i]); y may alias x.
Status Gelu(const Context& ctx, int64_t n, const float* x, float* y);
// dx[i] = dy[i] · gelu'(x[i]); dx may alias dy.
Status GeluBackward(const Context& ctx, int64_t n, const float* x, const float* dy, float* dx);
// y[i] = 1/(1 + e^−x[i]); y may alias x.
Status Sigmoid(const Context& ctx, int64_t n, const float* x, float* y);
// dx[i] = dy[i] · y[i](1 − y[i]) from the forward's output y; dx may alias dy (or y).
Status SigmoidBackward(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx);
// y = softmax(x) along each row; y may alias x.
Status Softmax(const Context& ctx, int64_t rows, int64_t cols, const float* x, float* y);

Status GeluReference(int64_t n, const float* x, float* y);
Status GeluBackwardReference(int64_t n, const float* x, const float* dy, float* dx);
Status SigmoidReference(int64_t n, const float* x, float* y);
Status SigmoidBackwardReference(int64_t n, const float* y, const float* dy, float* dx);
Status SoftmaxReference(int64_t rows, int64_t cols, const float* x, float* y);

}  // namespace frugal
