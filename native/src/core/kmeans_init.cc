// Greedy k-means++ seeding (see frugal/kmeans.h), on the CPU. Every new centre
// needs the distances from its candidates to all points: with up to
// gramMaxPoints points they are rows of the Gram matrix X·Xᵀ, one GEMM for the
// whole seeding; beyond, one GEMM of the candidates against X per centre.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "cpu/primitives/vector.h"
#include "frugal/cuda.h"
#include "frugal/gemm.h"
#include "frugal/isa.h"
#include "frugal/kmeans.h"
#include "frugal/random.h"

namespace frugal {
namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// The squared distances from candidate rows `cand` to every point, as rows of
// out [count, n]: max(0, ‖x_c‖² + ‖x_i‖² − 2 x_c·x_i).
class CandidateDistances {
 public:
  CandidateDistances(const float* X, int64_t n, int64_t dim, int64_t trials, bool gram) : X_(X), n_(n), dim_(dim), gram_(gram) {
    const PrimitiveKernels& prim = PrimitiveKernelsFor(ActiveIsa());
    norms_.resize(static_cast<size_t>(n));
    ParallelFor(CeilDiv(n, 256), [&](int64_t t) {
      for (int64_t i = t * 256; i < std::min(n, (t + 1) * 256); ++i) norms_[i] = prim.dot(X + i * dim, X + i * dim, dim);
    });
    products_.resize(static_cast<size_t>(gram_ ? n * n : trials * n));
    rows_.resize(static_cast<size_t>(gram_ ? 0 : trials * dim));
  }

  Status Prepare(const Context& cpu) {
    if (!gram_) return Status::Ok();
    return Gemm(cpu, Products(X_, n_, products_.data()));
  }

  Status Compute(const Context& cpu, const int64_t* cand, int64_t count, double* out) {
    const float* products = products_.data();
    if (!gram_) {
      for (int64_t t = 0; t < count; ++t) std::memcpy(&rows_[t * dim_], X_ + cand[t] * dim_, dim_ * sizeof(float));
      FRUGAL_RETURN_IF_ERROR(Gemm(cpu, Products(rows_.data(), count, products_.data())));
    }
    ParallelFor(count, [&](int64_t t) {
      const float* g = gram_ ? products + cand[t] * n_ : products + t * n_;
      const double nc = norms_[cand[t]];
      for (int64_t i = 0; i < n_; ++i) out[t * n_ + i] = std::max(0.0, nc + norms_[i] - 2.0 * g[i]);
    });
    return Status::Ok();
  }

 private:
  // out [rows, n] = A·Xᵀ.
  GemmParams Products(const float* A, int64_t rows, float* out) const {
    GemmParams g;
    g.M = rows;
    g.N = n_;
    g.K = dim_;
    g.A = A;
    g.lda = dim_;
    g.B = X_;
    g.ldb = dim_;
    g.transB = true;
    g.C = out;
    g.ldc = n_;
    return g;
  }

  const float* X_;
  int64_t n_, dim_;
  bool gram_;
  std::vector<double> norms_;
  std::vector<float> products_, rows_;
};

// The first index i with cum[i] >= v (numpy's searchsorted, side 'left'), at most n − 1.
int64_t SearchSorted(const std::vector<double>& cum, double v) {
  const int64_t i = std::lower_bound(cum.begin(), cum.end(), v) - cum.begin();
  return std::min<int64_t>(i, static_cast<int64_t>(cum.size()) - 1);
}

Status PlusPlusOnHost(const KMeansPlusPlusParams& p, const float* X, float* centroids) {
  const Context cpu;
  const int64_t n = p.n, trials = p.trials > 0 ? p.trials : 2 + static_cast<int64_t>(std::log(p.K));
  std::vector<float> u(static_cast<size_t>(1 + (p.K - 1) * trials));
  FRUGAL_RETURN_IF_ERROR(RandomUniform(cpu, StreamId{p.seed, p.sub, kTagKmeansInit}, 0, static_cast<int64_t>(u.size()), u.data()));
  CandidateDistances distances(X, n, p.dim, trials, n <= p.gramMaxPoints);
  FRUGAL_RETURN_IF_ERROR(distances.Prepare(cpu));
  std::vector<int64_t> cand(static_cast<size_t>(trials));
  std::vector<double> closest(static_cast<size_t>(n)), candidate(static_cast<size_t>(trials * n)), pot(static_cast<size_t>(trials)),
      cum(static_cast<size_t>(n));
  const auto choose = [&](int64_t c, int64_t row) {
    std::memcpy(centroids + c * p.dim, X + row * p.dim, p.dim * sizeof(float));
    if (p.chosen) p.chosen[c] = static_cast<int32_t>(row);
  };
  cand[0] = std::min<int64_t>(static_cast<int64_t>(static_cast<double>(u[0]) * n), n - 1);
  choose(0, cand[0]);
  FRUGAL_RETURN_IF_ERROR(distances.Compute(cpu, cand.data(), 1, closest.data()));
  double current = 0;
  for (double d : closest) current += d;
  for (int64_t c = 1; c < p.K; ++c) {
    double run = 0;
    for (int64_t i = 0; i < n; ++i) cum[i] = run += closest[i];
    for (int64_t t = 0; t < trials; ++t) cand[t] = SearchSorted(cum, static_cast<double>(u[1 + (c - 1) * trials + t]) * current);
    FRUGAL_RETURN_IF_ERROR(distances.Compute(cpu, cand.data(), trials, candidate.data()));
    ParallelFor(trials, [&](int64_t t) {
      double s = 0;
      double* d = candidate.data() + t * n;
      for (int64_t i = 0; i < n; ++i) s += d[i] = std::min(d[i], closest[i]);
      pot[t] = s;
    });
    const int64_t best = std::min_element(pot.begin(), pot.end()) - pot.begin();
    current = pot[best];
    std::copy(candidate.begin() + best * n, candidate.begin() + (best + 1) * n, closest.begin());
    choose(c, cand[best]);
  }
  return Status::Ok();
}

}  // namespace

Status KMeansPlusPlus(const Context& ctx, const KMeansPlusPlusParams& p) {
  if (p.K < 1 || p.dim < 1 || p.n < p.K) {
    return Status::Shape("kmeansPlusPlus: expected K >= 1, dim >= 1 and n >= K, got n " + Str(p.n) + ", dim " + Str(p.dim) +
                         ", K " + Str(p.K));
  }
  if (p.trials < 0) return Status::Range("kmeansPlusPlus: trials must be >= 0, got " + Str(p.trials));
  if (!p.X) return NullArgument("kmeansPlusPlus", "X");
  if (!p.centroids) return NullArgument("kmeansPlusPlus", "centroids");
  const auto cpu = [&] {
    try {
      return PlusPlusOnHost(p, p.X, p.centroids);
    } catch (const std::bad_alloc&) {
      return Status::Native("kmeansPlusPlus: out of memory for " + Str(p.n) + " points");
    }
  };
  return Dispatch("kmeansPlusPlus", ctx, Empty{}, cpu, FRUGAL_CUDA_PATH([&]() -> Status {
    try {
      std::vector<float> x(static_cast<size_t>(p.n * p.dim)), c(static_cast<size_t>(p.K * p.dim));
      FRUGAL_RETURN_IF_ERROR(CudaSynchronize(ctx.stream));
      FRUGAL_RETURN_IF_ERROR(CudaCopyToHost(x.data(), p.X, x.size() * sizeof(float)));
      FRUGAL_RETURN_IF_ERROR(PlusPlusOnHost(p, x.data(), c.data()));
      return CudaCopyToDevice(p.centroids, c.data(), c.size() * sizeof(float));
    } catch (const std::bad_alloc&) {
      return Status::Native("kmeansPlusPlus: out of memory for " + Str(p.n) + " points");
    }
  }()));
}

}  // namespace frugal
