// Scalar GELU, sigmoid and softmax: the oracle the fast paths are tested against.
// GELU is the exact erf form in double, sigmoid and its backward are in double
// (rounded once to float); softmax sums in double.
#include <cmath>

#include "cpu/activation_kernels.h"
#include "cpu/ref/gelu_scalar.h"
#include "frugal/activation.h"

namespace frugal {
namespace ref {

void GeluSpan(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(GeluScalar(x[i]));
}

void GeluBackwardSpan(int64_t n, const float* x, const float* dy, float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = static_cast<float>(dy[i] * GeluGradScalar(x[i]));
}

void SigmoidSpan(int64_t n, const float* x, float* y) {
  // exp(+inf) = inf gives 0, exp(−inf) = 0 gives 1, NaN stays NaN.
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x[i]))));
}

void SigmoidBackwardSpan(int64_t n, const float* y, const float* dy, float* dx) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = y[i];
    dx[i] = static_cast<float>(dy[i] * (v * (1.0 - v)));
  }
}

void SoftmaxRow(int64_t cols, const float* x, float* y) {
  double max = -INFINITY;
  for (int64_t i = 0; i < cols; ++i) max = std::fmax(max, static_cast<double>(x[i]));
  // fmax skips NaN, but a NaN anywhere still makes `sum` and so the whole row NaN.
  double sum = 0;
  for (int64_t i = 0; i < cols; ++i) sum += std::exp(x[i] - max);
  for (int64_t i = 0; i < cols; ++i) y[i] = static_cast<float>(std::exp(x[i] - max) / sum);
}

}  // namespace ref

Status GeluReference(int64_t n, const float* x, float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckGeluArgs(n, x, y));
  ref::GeluSpan(n, x, y);
  return Status::Ok();
}

Status GeluBackwardReference(int64_t n, const float* x, const float* dy, float* dx) {
  FRUGAL_RETURN_IF_ERROR(CheckGeluBackwardArgs(n, x, dy, dx));
  ref::GeluBackwardSpan(n, x, dy, dx);
  return Status::Ok();
}

Status SigmoidReference(int64_t n, const float* x, float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckSigmoidArgs(n, x, y));
  ref::SigmoidSpan(n, x, y);
  return Status::Ok();
}

Status SigmoidBackwardReference(int64_t n, const float* y, const float* dy, float* dx) {
  FRUGAL_RETURN_IF_ERROR(CheckSigmoidBackwardArgs(n, y, dy, dx));
  ref::SigmoidBackwardSpan(n, y, dy, dx);
  return Status::Ok();
}

Status SoftmaxReference(int64_t rows, int64_t cols, const float* x, float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckSoftmaxArgs(rows, cols, x, y));
  for (int64_t r = 0; r < rows; ++r) ref::SoftmaxRow(cols, x + r * cols, y + r * cols);
  return Status::Ok();
}

}  // namespace frugal
