// Complex double-precision FFT, radix 2, in place: the primitive behind the PLD
// accountant's composition (frugal/pld.h). Written here rather than taken from a
// package: the accountant needs only power-of-two sizes, double precision and no
// planner, and a dependency would have to build on every platform the addon does.
// Plain scalar C++ (no ISA dispatch): the accountant calls it a few times per query.
#pragma once
#include <complex>
#include <cstddef>
#include <vector>

namespace frugal {

// Twiddles and bit-reversal order of one size, reusable across transforms.
class Fft {
 public:
  // n is a power of two ≥ 1.
  explicit Fft(size_t n);
  size_t size() const { return n_; }
  // x[k] ← Σ_j x[j] e^{∓2πi jk/n}: forward (−) or, with inverse, (+) and divided by n.
  void Transform(std::complex<double>* x, bool inverse) const;

 private:
  size_t n_;
  std::vector<std::complex<double>> twiddle_;  // per stage, each from cos/sin of its own angle (fft.cc)
  std::vector<size_t> swaps_;                  // pairs (i, j), i < j, of the bit-reversal permutation
};

// The reference the tests hold the FFT to: the O(n²) sum, any n, same convention.
std::vector<std::complex<double>> DftReference(const std::vector<std::complex<double>>& x, bool inverse);

}  // namespace frugal
