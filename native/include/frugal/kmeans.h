// k-means (Lloyd) over the rows of X [n, dim], in three ops that a driver (lib/kmeans.ts)
// loops over: k-means++ seeding, one Lloyd step (assign, then update), and a last
// assignment. Labels, counts and the scalar results are host memory; X and the
// centroids live on ctx's device.
//
// Assignment: d(x, c) = max(0, ‖x‖² + ‖c‖² − 2x·c) with x·c from the GEMM, taken
// block by block so the n×K matrix is never whole; ties go to the lowest index. The
// inertia is Σ ‖x − c_label‖², summed exactly (not from the GEMM form).
// Update: each centroid is the mean of its points, summed in double in ascending
// point order, the same on every thread count and on CUDA. An empty cluster takes
// half of the largest cluster's points (ties: lowest index): a copy of that centroid
// perturbed toward its farthest point (ties: lowest index) splits it in two, the
// points farther along the perturbation (ties: the higher index first) moving.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

struct KMeansAssignParams {
  int64_t n = 0, dim = 0, K = 0;
  const float* X = nullptr;          // [n, dim]
  const float* centroids = nullptr;  // [K, dim]
  int32_t* labels = nullptr;         // [n], host: in, the previous labels (any value); out, the nearest
  double* inertia = nullptr;         // host: Σ ‖x − c_label‖²
  int64_t* changed = nullptr;        // host: how many labels differ from the ones passed in
};

struct KMeansUpdateParams {
  int64_t n = 0, dim = 0, K = 0;
  const float* X = nullptr;         // [n, dim]
  int32_t* labels = nullptr;        // [n] in [0, K), host; the empty-cluster repair moves some
  const float* previous = nullptr;  // [K, dim]: the centroids the labels came from (for the shift)
  float* centroids = nullptr;       // [K, dim] out: the means; must not overlap `previous` or X
  int32_t* counts = nullptr;        // [K] out, host
  double* shift = nullptr;          // host: Σ_k ‖centroids_k − previous_k‖²
  int64_t* repaired = nullptr;      // host: empty clusters refilled
};

// One Lloyd step: assigns X to `previous` (KMeansAssign), then updates into
// `centroids` (KMeansUpdate). inertia and changed are those of the assignment.
struct KMeansStepParams {
  KMeansUpdateParams update;
  double* inertia = nullptr;
  int64_t* changed = nullptr;
};

// Greedy k-means++ (Arthur & Vassilvitskii; scikit-learn's variant): the first
// centre is a uniform pick, each next one the best of `trials` candidates drawn
// with probability ∝ d², the candidate whose choice lowers Σ d² most (ties: the
// first drawn). Uniform values come from stream (seed, sub, tag 5): element 0
// picks the first centre, element 1 + (c − 1)·trials + t is candidate t of centre c.
struct KMeansPlusPlusParams {
  int64_t n = 0, dim = 0, K = 0;
  const float* X = nullptr;    // [n, dim]
  uint64_t seed = 0;
  uint32_t sub = 0;            // the restart
  int64_t trials = 0;          // candidates per centre; 0 means 2 + ⌊ln K⌋
  float* centroids = nullptr;  // [K, dim] out (ctx's device)
  int32_t* chosen = nullptr;   // [K] out, host: the rows picked, or null
  // Up to this many points, the candidates' distances are rows of one Gram matrix
  // X·Xᵀ (n² floats); beyond, one GEMM per centre. Either gives the same centres.
  int64_t gramMaxPoints = 8192;
};

Status KMeansAssign(const Context& ctx, const KMeansAssignParams& p);
Status KMeansUpdate(const Context& ctx, const KMeansUpdateParams& p);
Status KMeansStep(const Context& ctx, const KMeansStepParams& p);
// k-means++ runs on the CPU: a device X is copied to the host once (the Lloyd steps
// that follow are what cost).
Status KMeansPlusPlus(const Context& ctx, const KMeansPlusPlusParams& p);

// Scalar reference of the assignment (distances Σ (x − c)² in double, no GEMM): the
// tests' oracle.
Status KMeansAssignReference(const KMeansAssignParams& p);

}  // namespace frugal
