// PLD accountant core: the FFT against the O(n²) DFT; one step's pessimistic PLD
// against the hockey-stick divergence integrated numerically from the densities; the
// FFT composition against direct convolution; bad inputs.
#include <cmath>
#include <complex>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "core/fft.h"
#include "frugal/pld.h"

using namespace frugal;

namespace {

// δ(ε) = infinity + Σ_i mass_i (1 − e^{ε − ε_i})₊ of a discrete PLD.
double PmfDelta(const PldPmf& p, double h, double eps) {
  double d = p.infinity;
  for (size_t i = 0; i < p.mass.size(); ++i) {
    const double e = static_cast<double>(p.offset + static_cast<int64_t>(i)) * h;
    if (e > eps) d += p.mass[i] * -std::expm1(eps - e);
  }
  return d;
}

double Normal(double x, double mean, double sigma) {
  const double t = (x - mean) / sigma;
  return std::exp(-0.5 * t * t) / (sigma * std::sqrt(2 * M_PI));
}

// The definition, ∫ (p(x) − e^ε o(x))₊ dx with p, o the direction's two densities
// (remove: mixture against N(0, σ²); add: the reverse). The loss is monotone in x, so
// the integrand is positive on one side of a crossing found by bisection; that side is
// integrated by Simpson's rule (smooth there: error ~1e-14).
double IntegratedDelta(double q, double sigma, double eps, bool remove) {
  const auto gap = [&](double x) {
    const double mix = (1 - q) * Normal(x, 0, sigma) + q * Normal(x, 1, sigma), base = Normal(x, 0, sigma);
    return remove ? mix - std::exp(eps) * base : base - std::exp(eps) * mix;
  };
  const double lo = -14 * sigma, hi = 1 + 14 * sigma;
  // remove: positive above the crossing; add: below it.
  double a = lo, b = hi;
  if ((gap(lo) > 0) != (gap(hi) > 0)) {
    for (int i = 0; i < 200; ++i) {
      const double m = 0.5 * (a + b);
      ((gap(m) > 0) == (gap(hi) > 0) ? b : a) = m;
    }
  }
  const double from = remove ? (gap(lo) > 0 ? lo : a) : lo, to = remove ? hi : (gap(hi) > 0 ? hi : a);
  if (!(to > from)) return 0;
  const int n = 200000;
  const double step = (to - from) / n;
  double sum = gap(from) + gap(to);
  for (int i = 1; i < n; ++i) sum += (i % 2 ? 4 : 2) * gap(from + i * step);
  return std::max(0.0, sum * step / 3);
}

double Total(const PldPmf& p) {
  double s = p.infinity;
  for (double m : p.mass) s += m;
  return s;
}

}  // namespace

FRUGAL_TEST(fft_matches_dft) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (size_t n = 1; n <= 1024; n *= 2) {
    std::vector<std::complex<double>> x(n);
    for (auto& v : x) v = {u(rng), u(rng)};
    const Fft fft(n);
    for (bool inverse : {false, true}) {
      std::vector<std::complex<double>> y = x;
      fft.Transform(y.data(), inverse);
      const std::vector<std::complex<double>> want = DftReference(x, inverse);
      double err = 0;
      for (size_t k = 0; k < n; ++k) err = std::max(err, std::abs(y[k] - want[k]));
      // Both sums are O(√n) in size; rounding ~1e-16 per term.
      FRUGAL_CHECK(err < 1e-13 * std::sqrt(static_cast<double>(n)) + 1e-15) << "n=" << n << " inverse=" << inverse << " err=" << err;
    }
    std::vector<std::complex<double>> y = x;
    fft.Transform(y.data(), false);
    fft.Transform(y.data(), true);
    for (size_t k = 0; k < n; ++k) FRUGAL_CHECK(std::abs(y[k] - x[k]) < 1e-14) << "round trip n=" << n << " k=" << k;
  }
}

// The discrete PLD's δ lies above the true δ at every ε (pessimistic), by at most the
// interpolation error (O(h²) relative for this smooth curve), and holds all the mass.
FRUGAL_TEST(gaussian_pld_is_a_tight_upper_bound) {
  const double h = 1e-3;
  for (double q : {0.01, 0.2, 1.0}) {
    for (double sigma : {0.7, 2.0}) {
      PldPair pld;
      FRUGAL_CHECK_OK(GaussianPld(q, sigma, h, &pld));
      for (bool remove : {true, false}) {
        const PldPmf& p = remove ? pld.remove : pld.add;
        const std::string where = "q=" + std::to_string(q) + " sigma=" + std::to_string(sigma) + (remove ? " remove" : " add");
        FRUGAL_CHECK(std::fabs(Total(p) - 1) < 1e-12) << where << " total - 1 = " << Total(p) - 1;
        for (double m : p.mass) FRUGAL_CHECK(m >= 0) << where;
        for (double eps : {-0.5, -0.01, 0.0, 0.0123, 0.3, 1.0, 2.5}) {
          const double got = PmfDelta(p, h, eps), want = IntegratedDelta(q, sigma, eps, remove);
          // The integral itself is good to ~1e-12; the chordal interpolation adds ≤ h²·|δ''|.
          FRUGAL_CHECK(got >= want - 1e-11) << where << " eps=" << eps << " got " << got << " < true " << want << " by " << want - got;
          FRUGAL_CHECK(got <= want + 1e-6 * (1 + want)) << where << " eps=" << eps << " got " << got << " true " << want;
        }
      }
    }
  }
}

// FFT composition against direct convolution on coarse grids: masses agree bin by bin
// where the window holds them, and δ(ε) agrees everywhere to the tail mass.
FRUGAL_TEST(compose_matches_direct_convolution) {
  const double h = 0.02;
  const std::vector<std::vector<PldPhase>> cases = {
      {{0.1, 1.0, 7}}, {{1.0, 2.0, 3}}, {{0.5, 0.7, 5}}, {{0.05, 0.8, 4}, {0.3, 1.5, 2}}, {{0.2, 1.0, 0}, {0.2, 1.0, 1}}};
  for (const auto& phases : cases) {
    PldPair fast, ref;
    FRUGAL_CHECK_OK(ComposePld(phases.data(), static_cast<int64_t>(phases.size()), h, &fast));
    FRUGAL_CHECK_OK(ComposePldReference(phases.data(), static_cast<int64_t>(phases.size()), h, &ref));
    for (bool remove : {true, false}) {
      const PldPmf& f = remove ? fast.remove : fast.add;
      const PldPmf& r = remove ? ref.remove : ref.add;
      const std::string where = "case q0=" + std::to_string(phases[0].q) + (remove ? " remove" : " add");
      for (size_t i = 0; i < f.mass.size(); ++i) {
        const int64_t at = f.offset + static_cast<int64_t>(i) - r.offset;
        const double want = at >= 0 && at < static_cast<int64_t>(r.mass.size()) ? r.mass[at] : 0.0;
        FRUGAL_CHECK(std::fabs(f.mass[i] - want) < 1e-14) << where << " i=" << i << " " << f.mass[i] << " vs " << want;
      }
      FRUGAL_CHECK(f.infinity >= r.infinity && f.infinity <= r.infinity + 2 * kPldTailMass) << where;
      for (double eps : {-1.0, 0.0, 0.5, 1.0, 2.0, 4.0}) {
        const double got = PmfDelta(f, h, eps), want = PmfDelta(r, h, eps);
        FRUGAL_CHECK(std::fabs(got - want) < 1e-13) << where << " eps=" << eps << " " << got << " vs " << want;
      }
    }
  }
}

FRUGAL_TEST(no_steps_is_a_point_mass_at_zero) {
  const PldPhase none{0.3, 1.0, 0};
  PldPair p;
  FRUGAL_CHECK_OK(ComposePld(&none, 1, 1e-4, &p));
  FRUGAL_CHECK(p.remove.mass.size() == 1 && p.remove.mass[0] == 1 && p.remove.offset == 0 && p.remove.infinity == 0);
  FRUGAL_CHECK(p.add.mass.size() == 1 && p.add.infinity == 0);
}

FRUGAL_TEST(bad_inputs_are_statuses) {
  PldPair p;
  FRUGAL_CHECK(GaussianPld(0, 1, 1e-4, &p).code() == Code::kRange);
  FRUGAL_CHECK(GaussianPld(1.5, 1, 1e-4, &p).code() == Code::kRange);
  FRUGAL_CHECK(GaussianPld(0.1, NAN, 1e-4, &p).code() == Code::kRange);
  FRUGAL_CHECK(GaussianPld(0.1, 2 * kPldMaxSigma, 1e-4, &p).code() == Code::kRange);
  FRUGAL_CHECK(GaussianPld(0.1, 1, 0, &p).code() == Code::kRange);
  FRUGAL_CHECK(GaussianPld(0.1, 1, 2, &p).code() == Code::kRange);
  const PldPhase negative{0.1, 1, -1};
  FRUGAL_CHECK(ComposePld(&negative, 1, 1e-4, &p).code() == Code::kRange);
  // σ = 1e-3: one step's loss reaches ~5e5 nats, far more grid points than allowed.
  FRUGAL_CHECK(GaussianPld(0.1, 1e-3, 1e-4, &p).code() == Code::kRange);
  // 1e12 steps: the composed window is far too wide.
  const PldPhase many{0.1, 1, 1000000000000};
  FRUGAL_CHECK(ComposePld(&many, 1, 1e-4, &p).code() == Code::kRange);
}

FRUGAL_TEST_MAIN
