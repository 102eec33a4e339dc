// Iterative radix-2 FFT (decimation in time): bit-reversal permutation, then log2(n)
// stages of butterflies. Each twiddle is computed from cos/sin of its own angle rather
// than by recurrence, so the rounding error stays O(ε log n) instead of growing with n.
#include "core/fft.h"

#include <cmath>

namespace frugal {

namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;
}

Fft::Fft(size_t n) : n_(n), twiddle_(n > 1 ? n - 1 : 0) {
  // Stage `half` = m uses e^{−iπ j/m}, j < m, stored contiguously at [m − 1, 2m − 1):
  // the last stage's from cos/sin, the earlier ones every (n/2m)-th of those.
  const size_t last = n / 2;
  for (size_t j = 0; j < last; ++j) {
    const double angle = -kTwoPi * static_cast<double>(j) / static_cast<double>(n);
    twiddle_[last - 1 + j] = {std::cos(angle), std::sin(angle)};
  }
  for (size_t m = 1; m < last; m *= 2) {
    for (size_t j = 0; j < m; ++j) twiddle_[m - 1 + j] = twiddle_[last - 1 + j * (last / m)];
  }
  swaps_.reserve(n);
  // Bit reversal by a reversed counter: r walks 0, n/2, n/4, 3n/4, … as i walks 0, 1, 2, 3, ….
  for (size_t i = 0, r = 0; i < n; ++i) {
    if (i < r) {
      swaps_.push_back(i);
      swaps_.push_back(r);
    }
    size_t bit = n >> 1;
    for (; bit > 0 && (r & bit); bit >>= 1) r ^= bit;
    r |= bit;
  }
}

void Fft::Transform(std::complex<double>* data, bool inverse) const {
  for (size_t s = 0; s < swaps_.size(); s += 2) std::swap(data[swaps_[s]], data[swaps_[s + 1]]);
  // Interleaved doubles, so the butterflies vectorize; the inverse conjugates the twiddles.
  double* x = reinterpret_cast<double*>(data);
  const double sign = inverse ? -1.0 : 1.0;
  for (size_t half = 1; half < n_; half *= 2) {
    const double* w = reinterpret_cast<const double*>(twiddle_.data() + (half - 1));
    for (size_t start = 0; start < n_; start += 2 * half) {
      double* a = x + 2 * start;
      double* b = a + 2 * half;
      for (size_t j = 0; j < half; ++j) {
        const double wr = w[2 * j], wi = sign * w[2 * j + 1];
        const double br = wr * b[2 * j] - wi * b[2 * j + 1], bi = wr * b[2 * j + 1] + wi * b[2 * j];
        const double ar = a[2 * j], ai = a[2 * j + 1];
        a[2 * j] = ar + br;
        a[2 * j + 1] = ai + bi;
        b[2 * j] = ar - br;
        b[2 * j + 1] = ai - bi;
      }
    }
  }
  if (inverse) {
    const double scale = 1.0 / static_cast<double>(n_);
    for (size_t i = 0; i < 2 * n_; ++i) x[i] *= scale;
  }
}

std::vector<std::complex<double>> DftReference(const std::vector<std::complex<double>>& x, bool inverse) {
  const size_t n = x.size();
  std::vector<std::complex<double>> y(n);
  for (size_t k = 0; k < n; ++k) {
    std::complex<double> sum = 0;
    for (size_t j = 0; j < n; ++j) {
      // (j·k) mod n keeps the angle small, so the reference itself stays accurate.
      const double angle = (inverse ? kTwoPi : -kTwoPi) * static_cast<double>((j * k) % n) / static_cast<double>(n);
      sum += x[j] * std::complex<double>(std::cos(angle), std::sin(angle));
    }
    y[k] = inverse ? sum / static_cast<double>(n) : sum;
  }
  return y;
}

}  // namespace frugal
