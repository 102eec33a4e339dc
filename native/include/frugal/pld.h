// Privacy loss distributions (PLD) of DP-SGD's Poisson-subsampled Gaussian mechanism,
// discretised pessimistically and composed by FFT: the core of lib/dp/pld.ts's
// accountant. The math is in core/pld.cc (DESIGN.md predates it: its RDP note lists the old orders).
//
// A PLD here is a pmf on the grid ε_i = (offset + i)·h plus a mass at +∞. Its
// hockey-stick curve δ(ε) = infinity + Σ_i mass_i (1 − e^{ε − ε_i})₊ bounds the true
// mechanism's from above for every ε (connect-the-dots discretisation, Doroshenko et
// al. 2022), and composition keeps the bound: the tails the FFT cannot hold are
// counted in `infinity`.
#pragma once
#include <cstdint>
#include <vector>

#include "frugal/status.h"

namespace frugal {

// `steps` steps of sampling rate q ∈ (0, 1] and noise multiplier σ > 0 (sensitivity 1).
struct PldPhase {
  double q = 1, sigma = 1;
  int64_t steps = 0;
};

struct PldPmf {
  std::vector<double> mass;  // mass[i] at ε = (offset + i)·h
  int64_t offset = 0;
  double infinity = 0;       // mass at ε = +∞ (the δ no ε can buy back)
};

// Both adjacency directions: remove (P = (1−q)N(0,σ²) + qN(1,σ²) against Q = N(0,σ²))
// and add (P = N(0,σ²) against that mixture). ε of the mechanism is the larger of the two.
struct PldPair {
  PldPmf remove, add;
};

// The largest σ taken (lib/dp/pld.ts checks it first): beyond, σ² overflows the grid's
// arithmetic, and ε is below 1e-9 for any practical step count anyway.
constexpr double kPldMaxSigma = 1e6;

// The largest grid a PLD may take (a single step or the composition), in points.
constexpr int64_t kPldMaxPoints = int64_t{1} << 22;
// Mass each composed direction may lose past the ends of its FFT window (added to `infinity`).
constexpr double kPldTailMass = 1e-20;

// One step's pessimistic PLD pair at grid spacing h ∈ (0, 1].
Status GaussianPld(double q, double sigma, double h, PldPair* out);

// The composition of all phases (phases with steps = 0 contribute nothing; no steps at
// all gives the point mass at ε = 0). E_RANGE when a grid would exceed kPldMaxPoints.
Status ComposePld(const PldPhase* phases, int64_t count, double h, PldPair* out);

// The reference the tests hold ComposePld to: direct convolution, small grids only.
Status ComposePldReference(const PldPhase* phases, int64_t count, double h, PldPair* out);

}  // namespace frugal
