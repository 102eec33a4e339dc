// GELU, its backward and softmax: the front end at every ISA level against the
// double reference at awkward sizes, aliasing, edge values, thread-count
// independence (bitwise) and bad arguments.
#include <cmath>
#include <limits>
#include <vector>

#include "check.h"
#include "frugal/activation.h"
#include "frugal/context.h"

using namespace frugal;
using test::ForEachIsa;

namespace {

const int64_t kSizes[] = {1, 7, 15, 16, 17, 33, 255, 257, 768, 1024, 100003};

// Values spread over [-8, 8] so both tails of GELU are exercised.
std::vector<float> Spread(int64_t n, uint32_t seed) {
  std::vector<float> v = test::RandomVector(n, seed);
  for (float& x : v) x *= 8.0f;
  return v;
}

}  // namespace

FRUGAL_TEST(gelu_and_backward_match_reference_at_every_isa) {
  ForEachIsa([](Isa) {
    for (int64_t n : kSizes) {
      const std::vector<float> x = Spread(n, static_cast<uint32_t>(n)), dy = test::RandomVector(n, 3);
      std::vector<float> wy(n), wdx(n);
      test::Guarded y(n), dx(n);
      FRUGAL_CHECK_OK(GeluReference(n, x.data(), wy.data()));
      FRUGAL_CHECK_OK(Gelu(Context{}, n, x.data(), y.data()));
      FRUGAL_CHECK_GUARDS(y);
      FRUGAL_CHECK_OK(GeluBackwardReference(n, x.data(), dy.data(), wdx.data()));
      FRUGAL_CHECK_OK(GeluBackward(Context{}, n, x.data(), dy.data(), dx.data()));
      FRUGAL_CHECK_GUARDS(dx);
      const std::string what = "n " + std::to_string(n);
      FRUGAL_EXPECT_CLOSE(y.data(), wy.data(), n, 1e-6, 2e-6, "gelu " + what);
      FRUGAL_EXPECT_CLOSE(dx.data(), wdx.data(), n, 1e-6, 2e-6, "gelu backward " + what);
      // In place.
      std::vector<float> a = x, g = dy;
      FRUGAL_CHECK_OK(Gelu(Context{}, n, a.data(), a.data()));
      FRUGAL_CHECK(a == y.body()) << what;
      FRUGAL_CHECK_OK(GeluBackward(Context{}, n, x.data(), g.data(), g.data()));
      FRUGAL_CHECK(g == dx.body()) << what;
    }
  });
}

FRUGAL_TEST(softmax_matches_reference_at_every_isa) {
  ForEachIsa([](Isa) {
    for (int64_t rows : {1, 3, 40}) {
      for (int64_t cols : kSizes) {
        if (rows * cols > 1 << 22) continue;
        std::vector<float> x = Spread(rows * cols, static_cast<uint32_t>(rows + cols));
        std::vector<float> want(x.size());
        test::Guarded y(x.size());
        FRUGAL_CHECK_OK(SoftmaxReference(rows, cols, x.data(), want.data()));
        FRUGAL_CHECK_OK(Softmax(Context{}, rows, cols, x.data(), y.data()));
        FRUGAL_CHECK_GUARDS(y);
        const std::string what = "rows " + std::to_string(rows) + " cols " + std::to_string(cols);
        FRUGAL_EXPECT_CLOSE(y.data(), want.data(), y.size(), 1e-9, 5e-6, "softmax " + what);
        FRUGAL_CHECK_OK(Softmax(Context{}, rows, cols, x.data(), x.data()));
        FRUGAL_CHECK(x == y.body()) << "in place " << what;
      }
    }
  });
}

FRUGAL_TEST(softmax_edge_values) {
  const float inf = std::numeric_limits<float>::infinity();
  ForEachIsa([&](Isa) {
    // Large values do not overflow; −inf entries get exactly 0.
    std::vector<float> x = {1e30f, 1e30f, -inf, 3e38f, 3e38f, -inf, 5.0f, -inf, 5.0f, 88.0f, 89.0f, -89.0f};
    std::vector<float> y(x.size());
    FRUGAL_CHECK_OK(Softmax(Context{}, 4, 3, x.data(), y.data()));
    const std::vector<float> want = {0.5f, 0.5f, 0.0f, 0.5f, 0.5f, 0.0f, 0.5f, 0.0f, 0.5f};
    for (int i = 0; i < 9; ++i) FRUGAL_CHECK(std::fabs(y[i] - want[i]) < 1e-6) << i << ": " << y[i];
    FRUGAL_CHECK(std::fabs(y[10] - 1 / (1 + std::exp(-1.0))) < 1e-6) << y[10];
    // A NaN makes its row NaN and leaves the others alone.
    std::vector<float> z = {1.0f, NAN, 2.0f, 1.0f, 2.0f, 3.0f};
    FRUGAL_CHECK_OK(Softmax(Context{}, 2, 3, z.data(), z.data()));
    FRUGAL_CHECK(std::isnan(z[0]) && std::isnan(z[2]) && std::isfinite(z[3])) << z[0] << " " << z[3];
  });
}

FRUGAL_TEST(results_do_not_depend_on_the_thread_count) {
  const int saved = NumThreads();
  ForEachIsa([](Isa) {
    const int64_t rows = 97, cols = 3000, n = rows * cols;
    const std::vector<float> x = Spread(n, 9), dy = test::RandomVector(n, 10);
    std::vector<float> y1, d1, s1;
    for (int threads : {1, 2, 5}) {
      FRUGAL_CHECK_OK(SetNumThreads(threads));
      std::vector<float> y(n), d(n), s(n);
      FRUGAL_CHECK_OK(Gelu(Context{}, n, x.data(), y.data()));
      FRUGAL_CHECK_OK(GeluBackward(Context{}, n, x.data(), dy.data(), d.data()));
      FRUGAL_CHECK_OK(Softmax(Context{}, rows, cols, x.data(), s.data()));
      if (threads == 1) {
        y1 = y, d1 = d, s1 = s;
      } else {
        FRUGAL_CHECK(y == y1 && d == d1 && s == s1) << "threads " << threads;
      }
    }
  });
  FRUGAL_CHECK_OK(SetNumThreads(saved));
}

FRUGAL_TEST(bad_arguments) {
  float v = 0;
  FRUGAL_CHECK(Gelu(Context{}, -1, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK(Gelu(Context{}, 1, nullptr, &v).code() == Code::kNative);
  FRUGAL_CHECK_OK(Gelu(Context{}, 0, nullptr, nullptr));
  FRUGAL_CHECK(GeluBackward(Context{}, 1, &v, nullptr, &v).code() == Code::kNative);
  FRUGAL_CHECK(Softmax(Context{}, -1, 3, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK(Softmax(Context{}, int64_t{1} << 40, int64_t{1} << 40, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK_OK(Softmax(Context{}, 5, 0, nullptr, nullptr));
#ifndef FRUGAL_WITH_CUDA
  Context cuda;
  cuda.device = Device::kCuda;
  FRUGAL_CHECK(Gelu(cuda, 1, &v, &v).code() == Code::kDevice);
#endif
}

FRUGAL_TEST_MAIN
