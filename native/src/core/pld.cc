// PLD accountant core: one step's pessimistic PLD pair, and its composition by FFT.
//
// One step (sensitivity 1, noise σ, rate q; u(x) = (2x − 1)/(2σ²)):
//   remove: loss L(x) = ln(1 − q + q e^{u(x)}) under P = (1−q)N(0,σ²) + qN(1,σ²)
//           against Q = N(0,σ²); L > ε ⇔ x > x* = σ² ln((e^ε − 1 + q)/q) + ½;
//   add:    loss −L(x) under P = N(0,σ²) against the mixture; −L > ε ⇔ x < x' with
//           x' = σ² ln((e^{−ε} − 1 + q)/q) + ½.
// Connect-the-dots on ε_i = i·h, i ∈ [lo, hi] (Doroshenko et al. 2022) interpolates the
// hockey-stick curve δ(ε) = P(L > ε) − e^ε Q(L > ε) linearly in e^ε between grid points;
// δ is convex in e^ε, so the chords lie above it. Written per bin b = (ε_j, ε_{j+1}]
// (with P_b, Q_b the bin's masses under P and Q), the interpolating pmf sends
//   e^h (P_b − e^{ε_j} Q_b) / (e^h − 1)   to ε_{j+1}, and the rest of P_b to ε_j,
// (both shares lie in [0, P_b] because e^{ε_j} Q_b ≤ P_b ≤ e^{ε_{j+1}} Q_b); P's mass
// below ε_lo goes to ε_lo and above ε_hi to +∞, both pessimistic. Computed this way,
// from tail probabilities, every mass is non-negative and the total is exactly 1;
// second differences of δ would lose log10(1/h²) digits. The grid ends are put where
// the Gaussians' tails fall below e^−50 (|x| beyond 9.7σ), to keep the grid short.
//
// Composition of T_k steps of each phase k: each direction's pmf is folded onto an FFT
// window of N = 2^m points, transformed once (remove in the real part, add in the
// imaginary part: both are real), raised to the power T_k by squaring, multiplied
// over phases and transformed back. The window [l, u] comes from Chernoff bounds on
// the composed log-MGF K(λ) = Σ_k T_k ln Σ_i mass_ki e^{λ ε_i}: mass above u is at most
// kPldTailMass (it wraps onto lower ε, and kPldTailMass is added at +∞ to pay for it);
// mass below l wraps upwards (only raising δ).
#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <string>

#include "core/fft.h"
#include "frugal/pld.h"

namespace frugal {

namespace {

using Complex = std::complex<double>;

constexpr double kTailSigmas = 9.7;  // Φ̄(9.7) ≈ 1.5e−22 ≈ e^−50

double NormalTail(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }  // Φ̄(x)
double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }  // Φ(x)

// ln((e^t − 1 + q)/q) for t > ln(1 − q), without overflow for large t.
double LogShifted(double t, double q) {
  if (t > 30) return t + std::log1p(-(1 - q) * std::exp(-t)) - std::log(q);
  return std::log(std::expm1(t) + q) - std::log(q);
}

// The remove direction's loss at x: ln(1 − q + q e^u), stable for large u.
double RemoveLoss(double x, double q, double sigma) {
  const double u = (2 * x - 1) / (2 * sigma * sigma);
  if (q == 1) return u;
  if (u > 30) return u + std::log(q) + std::log1p((1 - q) / q * std::exp(-u));
  return std::log1p(q * std::expm1(u));
}

// P(L > ε) and Q(L > ε) of one direction.
struct Tails {
  double p, q;
};

Tails RemoveTails(double eps, double q, double sigma) {
  if (q < 1 && eps <= std::log1p(-q)) return {1, 1};
  const double x = sigma * sigma * LogShifted(eps, q) + 0.5;
  const double base = NormalTail(x / sigma);
  return {q * NormalTail((x - 1) / sigma) + (1 - q) * base, base};
}

Tails AddTails(double eps, double q, double sigma) {
  if (q < 1 && eps >= -std::log1p(-q)) return {0, 0};
  const double x = sigma * sigma * LogShifted(-eps, q) + 0.5;
  const double base = NormalCdf(x / sigma);
  return {base, (1 - q) * base + q * NormalCdf((x - 1) / sigma)};
}

// Connect-the-dots pmf on ε_i = i·h, i ∈ [lo, hi], from the direction's `tails`.
template <class TailsAt>
Status ConnectDots(int64_t lo, int64_t hi, double h, TailsAt tails, PldPmf* out) {
  if (hi - lo + 1 > kPldMaxPoints) {
    return Status::Range("one step's privacy loss spans " + std::to_string(hi - lo + 1) + " grid points (at most " +
                         std::to_string(kPldMaxPoints) + "): σ is too small for this discretization; use a coarser one");
  }
  const size_t n = static_cast<size_t>(hi - lo + 1);
  out->offset = lo;
  out->mass.assign(n, 0.0);
  const double up = std::exp(h) / std::expm1(h);
  Tails below = tails(static_cast<double>(lo) * h);
  out->mass[0] = 1 - below.p;
  for (size_t j = 0; j + 1 < n; ++j) {
    const double eps = static_cast<double>(lo + static_cast<int64_t>(j)) * h;
    const Tails above = tails(eps + h);
    const double pb = std::max(0.0, below.p - above.p), qb = std::max(0.0, below.q - above.q);
    const double upper = std::min(pb, std::max(0.0, up * (pb - std::exp(eps) * qb)));
    out->mass[j] += pb - upper;
    out->mass[j + 1] += upper;
    below = above;
  }
  out->infinity = below.p;
  // Zero mass at the ends (the flat stretch of δ, tails below the smallest double) is
  // trimmed: shorter grids, and LogMgf's scaling point has mass.
  const auto first = std::find_if(out->mass.begin(), out->mass.end(), [](double m) { return m > 0; });
  const auto last = std::find_if(out->mass.rbegin(), out->mass.rend(), [](double m) { return m > 0; }).base();
  if (first >= last) return Status::Native("a step's privacy loss distribution has no finite mass");
  out->offset += first - out->mass.begin();
  out->mass = std::vector<double>(first, last);
  return Status::Ok();
}

int64_t FloorIndex(double eps, double h) { return static_cast<int64_t>(std::floor(eps / h)); }
int64_t CeilIndex(double eps, double h) { return static_cast<int64_t>(std::ceil(eps / h)); }

Status CheckPhase(const PldPhase& p) {
  if (!(p.q > 0 && p.q <= 1)) return Status::Range("q must lie in (0, 1], got " + std::to_string(p.q));
  if (!(p.sigma > 0 && p.sigma <= kPldMaxSigma)) {
    return Status::Range("sigma must lie in (0, " + std::to_string(kPldMaxSigma) + "], got " + std::to_string(p.sigma));
  }
  if (p.steps < 0) return Status::Range("steps must be >= 0, got " + std::to_string(p.steps));
  return Status::Ok();
}

Status CheckSpacing(double h) {
  if (!(h > 0 && h <= 1)) return Status::Range("discretization must lie in (0, 1], got " + std::to_string(h));
  return Status::Ok();
}

// ln Σ_i mass_i e^{λ ε_i} for λ > 0 over ε_i = (offset + i)·h, by Horner in s = e^{−λh}
// relative to the top point (it has mass, so nothing overflows or underflows to 0),
// four interleaved chains for speed.
double LogMgf(const std::vector<double>& mass, int64_t offset, double h, double lambda) {
  const double s = std::exp(-lambda * h), s4 = s * s * s * s;
  // Zeros padded in front (not after the top point, whose factor must stay 1).
  const size_t n = mass.size(), padded = (n + 3) / 4 * 4, front = padded - n;
  double acc[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < padded; i += 4) {
    for (size_t k = 0; k < 4; ++k) acc[k] = acc[k] * s4 + (i + k >= front ? mass[i + k - front] : 0.0);
  }
  // Padded point i carries s^{padded − 1 − i}; the top point is ε = (offset + n − 1)·h.
  const double sum = ((acc[0] * s + acc[1]) * s + acc[2]) * s + acc[3];
  return lambda * h * static_cast<double>(offset + static_cast<int64_t>(n) - 1) + std::log(sum);
}

// The composed window [lo, hi] (grid indices) holding all but kPldTailMass above and below.
struct Window {
  int64_t lo, hi;
};

Status ComposedWindow(const std::vector<const PldPmf*>& pmfs, const std::vector<int64_t>& steps, double h, Window* w) {
  const double log_tail = std::log(kPldTailMass);
  double upper = INFINITY, lower = -INFINITY, hard_lo = 0, hard_hi = 0;
  std::vector<std::vector<double>> reversed(pmfs.size());
  for (size_t k = 0; k < pmfs.size(); ++k) {
    reversed[k].assign(pmfs[k]->mass.rbegin(), pmfs[k]->mass.rend());
    const double t = static_cast<double>(steps[k]);
    hard_lo += t * static_cast<double>(pmfs[k]->offset);
    hard_hi += t * static_cast<double>(pmfs[k]->offset + static_cast<int64_t>(pmfs[k]->mass.size()) - 1);
  }
  for (int j = -6; j <= 20; ++j) {
    const double lambda = std::pow(2.0, 0.5 * j);
    double up = 0, down = 0;  // K(λ) and K(−λ)
    for (size_t k = 0; k < pmfs.size(); ++k) {
      const double t = static_cast<double>(steps[k]);
      up += t * LogMgf(pmfs[k]->mass, pmfs[k]->offset, h, lambda);
      // Σ mass_i e^{−λ ε_i}: the same sum over the mirrored grid −ε.
      const int64_t mirrored = -(pmfs[k]->offset + static_cast<int64_t>(pmfs[k]->mass.size()) - 1);
      down += t * LogMgf(reversed[k], mirrored, h, lambda);
    }
    upper = std::min(upper, (up - log_tail) / lambda);
    lower = std::max(lower, (log_tail - down) / lambda);
  }
  const double lo = std::max(hard_lo, std::floor(lower / h)), hi = std::min(hard_hi, std::ceil(upper / h));
  if (!(hi - lo + 1 <= static_cast<double>(kPldMaxPoints))) {
    return Status::Range("the composed privacy loss spans " + std::to_string(hi - lo + 1) + " grid points (at most " +
                         std::to_string(kPldMaxPoints) + "): too many steps for this discretization; use a coarser one");
  }
  w->lo = static_cast<int64_t>(lo);
  w->hi = static_cast<int64_t>(hi);
  return Status::Ok();
}

int64_t Mod(int64_t a, int64_t n) { return ((a % n) + n) % n; }

// x[k] ← x[k]^t for every k, by squaring; magnitudes below 1e−150 flush to 0 (they
// could only fall further, and denormals would make the loop crawl).
void PowerInPlace(std::vector<Complex>& x, int64_t t) {
  std::vector<Complex> base = x;
  std::fill(x.begin(), x.end(), Complex(1, 0));
  const size_t n = x.size();
  double* r = reinterpret_cast<double*>(x.data());
  double* b = reinterpret_cast<double*>(base.data());
  for (; t > 0; t >>= 1) {
    if (t & 1) {
      for (size_t k = 0; k < 2 * n; k += 2) {
        const double re = r[k] * b[k] - r[k + 1] * b[k + 1], im = r[k] * b[k + 1] + r[k + 1] * b[k];
        const bool tiny = std::fabs(re) + std::fabs(im) < 1e-150;
        r[k] = tiny ? 0 : re;
        r[k + 1] = tiny ? 0 : im;
      }
    }
    if (t > 1) {
      for (size_t k = 0; k < 2 * n; k += 2) {
        const double re = b[k] * b[k] - b[k + 1] * b[k + 1], im = 2 * b[k] * b[k + 1];
        const bool tiny = std::fabs(re) + std::fabs(im) < 1e-150;
        b[k] = tiny ? 0 : re;
        b[k + 1] = tiny ? 0 : im;
      }
    }
  }
}

// mass at +∞ of the composition: 1 − Π_k (1 − infinity_k)^{T_k}.
double ComposedInfinity(const std::vector<const PldPmf*>& pmfs, const std::vector<int64_t>& steps) {
  double log_keep = 0;
  for (size_t k = 0; k < pmfs.size(); ++k) log_keep += static_cast<double>(steps[k]) * std::log1p(-pmfs[k]->infinity);
  return -std::expm1(log_keep);
}

// The plan of the last size this thread used: noise calibration composes the same
// window size dozens of times, and the twiddles cost about as much as a transform.
const Fft& FftOfSize(size_t n) {
  thread_local std::unique_ptr<Fft> last;
  if (!last || last->size() != n) last = std::make_unique<Fft>(n);
  return *last;
}

}  // namespace

Status GaussianPld(double q, double sigma, double h, PldPair* out) {
  FRUGAL_RETURN_IF_ERROR(CheckSpacing(h));
  FRUGAL_RETURN_IF_ERROR(CheckPhase({q, sigma, 1}));
  const double z = kTailSigmas * sigma;
  // Loss is increasing in x: the remove direction's x ranges over P's bulk [−zσ, 1 + zσ]
  // (only N(1, σ²) when q = 1), the add direction's over N(0, σ²)'s [−zσ, zσ].
  const double remove_lo = RemoveLoss(q == 1 ? 1 - z : -z, q, sigma), remove_hi = RemoveLoss(1 + z, q, sigma);
  FRUGAL_RETURN_IF_ERROR(ConnectDots(FloorIndex(remove_lo, h), CeilIndex(remove_hi, h), h,
                                     [&](double e) { return RemoveTails(e, q, sigma); }, &out->remove));
  const double add_lo = -RemoveLoss(z, q, sigma), add_hi = -RemoveLoss(-z, q, sigma);
  return ConnectDots(FloorIndex(add_lo, h), CeilIndex(add_hi, h), h, [&](double e) { return AddTails(e, q, sigma); },
                     &out->add);
}

Status ComposePld(const PldPhase* phases, int64_t count, double h, PldPair* out) {
  FRUGAL_RETURN_IF_ERROR(CheckSpacing(h));
  if (count < 0 || (count > 0 && phases == nullptr)) return Status::Range("phases: expected a list of phases");
  std::vector<PldPair> steps_pld;
  std::vector<int64_t> steps;
  for (int64_t k = 0; k < count; ++k) {
    FRUGAL_RETURN_IF_ERROR(CheckPhase(phases[k]));
    if (phases[k].steps == 0) continue;
    steps_pld.emplace_back();
    FRUGAL_RETURN_IF_ERROR(GaussianPld(phases[k].q, phases[k].sigma, h, &steps_pld.back()));
    steps.push_back(phases[k].steps);
  }
  if (steps.empty()) {  // nothing released: the loss is 0 with certainty
    out->remove = out->add = PldPmf{{1.0}, 0, 0.0};
    return Status::Ok();
  }
  std::vector<const PldPmf*> removes, adds;
  for (const PldPair& p : steps_pld) {
    removes.push_back(&p.remove);
    adds.push_back(&p.add);
  }
  Window wr, wa;
  FRUGAL_RETURN_IF_ERROR(ComposedWindow(removes, steps, h, &wr));
  FRUGAL_RETURN_IF_ERROR(ComposedWindow(adds, steps, h, &wa));
  int64_t n = 1;
  while (n < std::max(wr.hi - wr.lo + 1, wa.hi - wa.lo + 1)) n *= 2;
  const Fft& fft = FftOfSize(static_cast<size_t>(n));

  std::vector<Complex> spectrum_remove(n, Complex(1, 0)), spectrum_add(n, Complex(1, 0)), z(n), part(n);
  int64_t origin_remove = 0, origin_add = 0;  // Σ_k T_k offset_k, modulo n
  for (size_t k = 0; k < steps.size(); ++k) {
    const PldPmf& r = steps_pld[k].remove;
    const PldPmf& a = steps_pld[k].add;
    std::fill(z.begin(), z.end(), Complex(0, 0));
    for (size_t i = 0; i < r.mass.size(); ++i) z[i % n] += Complex(r.mass[i], 0);
    for (size_t i = 0; i < a.mass.size(); ++i) z[i % n] += Complex(0, a.mass[i]);
    fft.Transform(z.data(), false);
    origin_remove = Mod(origin_remove + Mod(steps[k], n) * Mod(r.offset, n), n);
    origin_add = Mod(origin_add + Mod(steps[k], n) * Mod(a.offset, n), n);
    // Spectra of the two real parts: R[j] = (Z[j] + conj Z[−j])/2, A[j] = (Z[j] − conj Z[−j])/(2i).
    for (int direction = 0; direction < 2; ++direction) {
      for (int64_t j = 0; j < n; ++j) {
        const Complex mirror = std::conj(z[(n - j) % n]);
        part[j] = direction == 0 ? 0.5 * (z[j] + mirror) : Complex(0, -0.5) * (z[j] - mirror);
      }
      PowerInPlace(part, steps[k]);
      std::vector<Complex>& spectrum = direction == 0 ? spectrum_remove : spectrum_add;
      for (int64_t j = 0; j < n; ++j) spectrum[j] *= part[j];
    }
  }
  for (int64_t j = 0; j < n; ++j) z[j] = spectrum_remove[j] + Complex(0, 1) * spectrum_add[j];
  fft.Transform(z.data(), true);

  // Index j of the circular result holds ε-index origin + j (mod n); unfold onto the window.
  const auto unfold = [&](const Window& w, int64_t origin, bool imaginary, const std::vector<const PldPmf*>& pmfs,
                          PldPmf* pmf) {
    pmf->offset = w.lo;
    pmf->mass.assign(static_cast<size_t>(w.hi - w.lo + 1), 0.0);
    for (int64_t m = 0; m <= w.hi - w.lo; ++m) {
      const Complex v = z[Mod(Mod(w.lo, n) + m - origin, n)];
      // FFT rounding leaves ±1e−17-sized noise; a negative mass is dropped (it would lower δ).
      pmf->mass[m] = std::max(0.0, imaginary ? v.imag() : v.real());
    }
    pmf->infinity = std::min(1.0, ComposedInfinity(pmfs, steps) + kPldTailMass);
  };
  unfold(wr, origin_remove, false, removes, &out->remove);
  unfold(wa, origin_add, true, adds, &out->add);
  return Status::Ok();
}

}  // namespace frugal
