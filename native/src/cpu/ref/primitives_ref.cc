// Scalar level of the shared primitives (double sums, fma accumulation).
#include <cmath>

#include "cpu/primitives/vector.h"

namespace frugal {
namespace ref {

double Dot(const float* x, const float* y, int64_t n) {
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += static_cast<double>(x[k] * y[k]);
  return sum;
}

void Axpy(float* t, const float* x, int64_t n, float s) {
  for (int64_t k = 0; k < n; ++k) t[k] = std::fma(s, x[k], t[k]);
}

}  // namespace ref
}  // namespace frugal
