// The scalar exact GELU and its derivative, shared by every reference kernel.
#pragma once
#include <cmath>

namespace frugal {

inline double GeluScalar(double x) { return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)); }

// d/dx gelu(x) = Φ(x) + x·φ(x)
inline double GeluGradScalar(double x) {
  const double cdf = 0.5 * (1.0 + std::erf(x * 0.70710678118654752440));
  const double pdf = 0.39894228040143267794 * std::exp(-0.5 * x * x);
  return cdf + x * pdf;
}

}  // namespace frugal
