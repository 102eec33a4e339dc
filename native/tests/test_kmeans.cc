// k-means: the assignment at every ISA level against the double reference on
// awkward sizes (a differing label only where the two distances tie to fp32
// rounding), ties to the lowest index, the update against plain double means,
// the empty-cluster repair, k-means++ (Gram and per-centre paths agree, seeded,
// thread-count independent) and bad arguments.
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/kmeans.h"

using namespace frugal;
using test::ForEachIsa;

namespace {

struct Shape {
  int64_t n, dim, K;
};
const Shape kShapes[] = {{1, 1, 1}, {7, 3, 2}, {33, 17, 7}, {257, 33, 17}, {255, 7, 33}, {1000, 65, 255}, {700, 130, 300}};

double Distance(const float* x, const float* c, int64_t dim) {
  double d = 0;
  for (int64_t k = 0; k < dim; ++k) d += (double(x[k]) - c[k]) * (double(x[k]) - c[k]);
  return d;
}

struct Assigned {
  std::vector<int32_t> labels;
  double inertia = 0;
  int64_t changed = 0;
};

Assigned Assign(const Shape& s, const std::vector<float>& X, const std::vector<float>& C, bool reference) {
  Assigned a;
  a.labels.assign(s.n, 0);
  KMeansAssignParams p;
  p.n = s.n, p.dim = s.dim, p.K = s.K, p.X = X.data(), p.centroids = C.data();
  p.labels = a.labels.data(), p.inertia = &a.inertia, p.changed = &a.changed;
  FRUGAL_CHECK_OK(reference ? KMeansAssignReference(p) : KMeansAssign(Context{}, p));
  return a;
}

}  // namespace

FRUGAL_TEST(assignment_matches_reference_at_every_isa) {
  ForEachIsa([](Isa) {
    for (const Shape& s : kShapes) {
      const std::vector<float> X = test::RandomVector(s.n * s.dim, 1), C = test::RandomVector(s.K * s.dim, 2);
      const Assigned want = Assign(s, X, C, true), got = Assign(s, X, C, false);
      const std::string what = "n " + std::to_string(s.n) + " dim " + std::to_string(s.dim) + " K " + std::to_string(s.K);
      for (int64_t i = 0; i < s.n; ++i) {
        if (got.labels[i] == want.labels[i]) continue;
        // The GEMM form rounds ‖x‖² + ‖c‖² − 2x·c in fp32: only near-ties may differ.
        const double dg = Distance(&X[i * s.dim], &C[got.labels[i] * s.dim], s.dim);
        const double dw = Distance(&X[i * s.dim], &C[want.labels[i] * s.dim], s.dim);
        FRUGAL_CHECK(std::fabs(dg - dw) <= 1e-5 * (1 + dw)) << what << " row " << i << ": " << dg << " vs " << dw;
      }
      FRUGAL_CHECK(std::fabs(got.inertia - want.inertia) <= 1e-6 * want.inertia) << what << ": " << got.inertia << " vs " << want.inertia;
      FRUGAL_CHECK(got.changed == want.changed || s.n > 100) << what;
    }
  });
}

FRUGAL_TEST(assignment_ties_go_to_the_lowest_index_and_changed_counts) {
  ForEachIsa([](Isa) {
    // Centroids 0 and 2 are the same point; every x is nearest to them.
    const Shape s{5, 3, 4};
    const std::vector<float> X = {1, 1, 1, 1, 1.5f, 1, 0.5f, 1, 1, 1, 1, 2, 1, 1, 1};
    const std::vector<float> C = {1, 1, 1, 9, 9, 9, 1, 1, 1, -9, -9, -9};
    std::vector<int32_t> labels = {2, 0, 3, 0, 2};
    double inertia = 0;
    int64_t changed = 0;
    KMeansAssignParams p;
    p.n = s.n, p.dim = s.dim, p.K = s.K, p.X = X.data(), p.centroids = C.data();
    p.labels = labels.data(), p.inertia = &inertia, p.changed = &changed;
    FRUGAL_CHECK_OK(KMeansAssign(Context{}, p));
    FRUGAL_CHECK((labels == std::vector<int32_t>{0, 0, 0, 0, 0}));
    FRUGAL_CHECK(changed == 3) << changed;
    FRUGAL_CHECK(std::fabs(inertia - 1.5) < 1e-12) << inertia;
  });
}

FRUGAL_TEST(update_gives_double_means_and_the_same_bits_at_any_thread_count) {
  ForEachIsa([](Isa) {
    for (const Shape& s : kShapes) {
      const std::vector<float> X = test::RandomVector(s.n * s.dim, 3), prev = test::RandomVector(s.K * s.dim, 4);
      std::vector<int32_t> labels(s.n);
      for (int64_t i = 0; i < s.n; ++i) labels[i] = static_cast<int32_t>(i < s.K ? i : (i * 7919) % s.K);
      std::vector<float> runs[2];
      for (int threads : {1, 2}) {
        FRUGAL_CHECK_OK(SetNumThreads(threads));
        test::Guarded c(s.K * s.dim);
        std::vector<int32_t> counts(s.K), l = labels;
        double shift = 0;
        int64_t repaired = -1;
        KMeansUpdateParams p;
        p.n = s.n, p.dim = s.dim, p.K = s.K, p.X = X.data(), p.labels = l.data(), p.previous = prev.data();
        p.centroids = c.data(), p.counts = counts.data(), p.shift = &shift, p.repaired = &repaired;
        FRUGAL_CHECK_OK(KMeansUpdate(Context{}, p));
        FRUGAL_CHECK_GUARDS(c);
        FRUGAL_CHECK(repaired == 0 && l == labels);
        double want_shift = 0;
        for (int64_t j = 0; j < s.K; ++j) {
          int64_t count = 0;
          std::vector<double> sum(s.dim, 0.0);
          for (int64_t i = 0; i < s.n; ++i) {
            if (labels[i] != j) continue;
            ++count;
            for (int64_t d = 0; d < s.dim; ++d) sum[d] += X[i * s.dim + d];
          }
          FRUGAL_CHECK(counts[j] == count) << j;
          for (int64_t d = 0; d < s.dim; ++d) {
            FRUGAL_CHECK(c.data()[j * s.dim + d] == static_cast<float>(sum[d] / count)) << "cluster " << j << " dim " << d;
          }
          want_shift += Distance(&c.data()[j * s.dim], &prev[j * s.dim], s.dim);
        }
        FRUGAL_CHECK(std::fabs(shift - want_shift) <= 1e-6 * want_shift) << shift << " vs " << want_shift;
        runs[threads - 1] = c.body();
      }
      FRUGAL_CHECK(runs[0] == runs[1]);
    }
  });
  FRUGAL_CHECK_OK(SetNumThreads(2));
}

FRUGAL_TEST(an_empty_cluster_takes_half_of_the_largest) {
  // Cluster 1 holds 7 points on a line, clusters 0 and 3 are empty, cluster 2 has one point.
  const int64_t n = 8, dim = 2, K = 4;
  const std::vector<float> X = {0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 50, 50};
  std::vector<int32_t> labels = {1, 1, 1, 1, 1, 1, 1, 2};
  std::vector<float> prev(K * dim, 0.0f), c(K * dim);
  std::vector<int32_t> counts(K);
  double shift = 0;
  int64_t repaired = 0;
  KMeansUpdateParams p;
  p.n = n, p.dim = dim, p.K = K, p.X = X.data(), p.labels = labels.data(), p.previous = prev.data();
  p.centroids = c.data(), p.counts = counts.data(), p.shift = &shift, p.repaired = &repaired;
  FRUGAL_CHECK_OK(KMeansUpdate(Context{}, p));
  FRUGAL_CHECK(repaired == 2) << repaired;
  // Mean 3, farthest point 0 (the first of 0 and 6): points 0..2 move to cluster 0;
  // then cluster 1 (3..6, mean 4.5, farthest 3) gives 3 and 4 to cluster 3.
  FRUGAL_CHECK((labels == std::vector<int32_t>{0, 0, 0, 3, 3, 1, 1, 2})) << labels[0] << labels[3] << labels[5];
  FRUGAL_CHECK((counts == std::vector<int32_t>{3, 2, 1, 2}));
  FRUGAL_CHECK(c[0] == 1.0f && c[2] == 5.5f && c[4] == 50.0f && c[6] == 3.5f);
}

FRUGAL_TEST(kmeans_plus_plus_is_seeded_and_both_distance_paths_agree) {
  ForEachIsa([](Isa) {
    for (const Shape& s : kShapes) {
      const std::vector<float> X = test::RandomVector(s.n * s.dim, 5);
      std::vector<int32_t> chosen[3];
      std::vector<float> cents[3];
      for (int run = 0; run < 3; ++run) {
        FRUGAL_CHECK_OK(SetNumThreads(run == 2 ? 1 : 2));
        chosen[run].assign(s.K, -1);
        cents[run].assign(s.K * s.dim, 0.0f);
        KMeansPlusPlusParams p;
        p.n = s.n, p.dim = s.dim, p.K = s.K, p.X = X.data(), p.seed = 11, p.sub = 2;
        p.centroids = cents[run].data(), p.chosen = chosen[run].data();
        p.gramMaxPoints = run == 1 ? 0 : 8192;
        FRUGAL_CHECK_OK(KMeansPlusPlus(Context{}, p));
      }
      FRUGAL_CHECK(chosen[0] == chosen[1] && chosen[0] == chosen[2]) << s.n;
      FRUGAL_CHECK(cents[0] == cents[1] && cents[0] == cents[2]);
      // Distinct points, each a row of X.
      FRUGAL_CHECK(std::set<int32_t>(chosen[0].begin(), chosen[0].end()).size() == static_cast<size_t>(s.K));
      for (int64_t c = 0; c < s.K; ++c) {
        FRUGAL_CHECK(std::equal(&cents[0][c * s.dim], &cents[0][(c + 1) * s.dim], &X[chosen[0][c] * s.dim]));
      }
    }
  });
  FRUGAL_CHECK_OK(SetNumThreads(2));
}

FRUGAL_TEST(kmeans_plus_plus_finds_every_blob) {
  // Five tight blobs far apart: k-means++ puts one centre in each.
  const int64_t per = 40, K = 5, dim = 5, n = per * K;
  std::vector<float> X(n * dim);
  const std::vector<float> noise = test::RandomVector(n * dim, 9);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t d = 0; d < dim; ++d) X[i * dim + d] = 100.0f * float(i / per == d) + 0.1f * noise[i * dim + d];
  }
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::vector<int32_t> chosen(K);
    std::vector<float> c(K * dim);
    KMeansPlusPlusParams p;
    p.n = n, p.dim = dim, p.K = K, p.X = X.data(), p.seed = seed, p.centroids = c.data(), p.chosen = chosen.data();
    FRUGAL_CHECK_OK(KMeansPlusPlus(Context{}, p));
    std::set<int64_t> blobs;
    for (int32_t r : chosen) blobs.insert(r / per);
    FRUGAL_CHECK(blobs.size() == static_cast<size_t>(K)) << "seed " << seed;
  }
}

FRUGAL_TEST(bad_arguments_are_refused) {
  std::vector<float> X(12, 1.0f), C(12, 0.0f);
  std::vector<int32_t> labels(4, 0), counts(4);
  double v = 0;
  int64_t k = 0;
  KMeansAssignParams a;
  a.n = 4, a.dim = 3, a.K = 5, a.X = X.data(), a.centroids = C.data(), a.labels = labels.data(), a.inertia = &v, a.changed = &k;
  FRUGAL_CHECK(KMeansAssign(Context{}, a).code() == Code::kShape);  // n < K
  a.K = 2, a.dim = 0;
  FRUGAL_CHECK(KMeansAssign(Context{}, a).code() == Code::kShape);
  a.dim = 3, a.X = nullptr;
  FRUGAL_CHECK(KMeansAssign(Context{}, a).code() == Code::kNative);
  KMeansUpdateParams u;
  u.n = 4, u.dim = 3, u.K = 2, u.X = X.data(), u.labels = labels.data(), u.previous = C.data(), u.centroids = C.data() + 6;
  u.counts = counts.data(), u.shift = &v, u.repaired = &k;
  labels[2] = 2;
  FRUGAL_CHECK(KMeansUpdate(Context{}, u).code() == Code::kRange);
  labels[2] = -1;
  FRUGAL_CHECK(KMeansUpdate(Context{}, u).code() == Code::kRange);
  KMeansPlusPlusParams pp;
  pp.n = 4, pp.dim = 3, pp.K = 2, pp.X = X.data(), pp.centroids = C.data(), pp.trials = -1;
  FRUGAL_CHECK(KMeansPlusPlus(Context{}, pp).code() == Code::kRange);
  pp.trials = 0, pp.K = 0;
  FRUGAL_CHECK(KMeansPlusPlus(Context{}, pp).code() == Code::kShape);
}

FRUGAL_TEST_MAIN
