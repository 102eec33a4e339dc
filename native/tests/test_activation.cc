// GELU, sigmoid, their backwards and softmax: the front end at every ISA level
// against the double reference at awkward sizes, aliasing, edge values,
// thread-count independence (bitwise) and bad arguments.
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

// Sigmoid tolerances: the vector Exp is within 2 ulp, plus one add and one
// divide, so a few ulp relative (measured worst 3·2⁻²⁴ ≈ 1.8e-7, near x = −17):
// checked at 5e-7 relative. Absolute 1e-38 (below
// FLT_MIN): under x ≈ −88.7 e^−x overflows and the fast paths give 0 where the
// true value (the reference's subnormal) is below 3e-39. The backward is
// dy·(y − y²) with y − y² rounded once (one fused op), then one multiply: 1 ulp,
// checked at 5e-7 relative (~4 ulp).
FRUGAL_TEST(sigmoid_and_backward_match_reference_at_every_isa) {
  ForEachIsa([](Isa) {
    for (int64_t n : kSizes) {
      for (float scale : {8.0f, 120.0f}) {  // ±120 crosses both the overflow and the 1.0f boundary
        std::vector<float> x = test::RandomVector(n, static_cast<uint32_t>(n) + 11);
        for (float& v : x) v *= scale;
        const std::vector<float> dy = test::RandomVector(n, 5);
        std::vector<float> wy(n), wdx(n);
        test::Guarded y(n), dx(n);
        FRUGAL_CHECK_OK(SigmoidReference(n, x.data(), wy.data()));
        FRUGAL_CHECK_OK(Sigmoid(Context{}, n, x.data(), y.data()));
        FRUGAL_CHECK_GUARDS(y);
        // The backward from the forward's output, as a caller would use it.
        FRUGAL_CHECK_OK(SigmoidBackwardReference(n, y.data(), dy.data(), wdx.data()));
        FRUGAL_CHECK_OK(SigmoidBackward(Context{}, n, y.data(), dy.data(), dx.data()));
        FRUGAL_CHECK_GUARDS(dx);
        const std::string what = "n " + std::to_string(n) + " scale " + std::to_string(scale);
        FRUGAL_EXPECT_CLOSE(y.data(), wy.data(), n, 1e-38, 5e-7, "sigmoid " + what);
        FRUGAL_EXPECT_CLOSE(dx.data(), wdx.data(), n, 1e-38, 5e-7, "sigmoid backward " + what);
        for (int64_t i = 0; i < n; ++i) {
          FRUGAL_CHECK(y.data()[i] >= 0.0f && y.data()[i] <= 1.0f) << what << " at " << i << ": " << y.data()[i];
        }
        // In place: y over x; dx over dy, and over y itself.
        std::vector<float> a = x, g = dy, b = y.body();
        FRUGAL_CHECK_OK(Sigmoid(Context{}, n, a.data(), a.data()));
        FRUGAL_CHECK(a == y.body()) << what;
        FRUGAL_CHECK_OK(SigmoidBackward(Context{}, n, y.data(), g.data(), g.data()));
        FRUGAL_CHECK(g == dx.body()) << what;
        FRUGAL_CHECK_OK(SigmoidBackward(Context{}, n, b.data(), dy.data(), b.data()));
        FRUGAL_CHECK(b == dx.body()) << what;
      }
    }
  });
}

FRUGAL_TEST(sigmoid_edge_values) {
  const float inf = std::numeric_limits<float>::infinity();
  const float tiny = std::numeric_limits<float>::denorm_min();
  ForEachIsa([&](Isa isa) {
    // Saturation is exact, never NaN or outside [0, 1]: 1 from x ≈ 17.3 on; 0 at
    // and below −88.7 on the fast paths, where the reference keeps the subnormal
    // tail (e^−89 ≈ 2.2e-39, e^−100 ≈ 3.7e-44, 0 from −104 on).
    std::vector<float> x = {100.0f, -100.0f, 1e30f, -1e30f, inf, -inf, 3e38f, -3e38f, 20.0f, 30.0f, 89.0f, -89.0f,
                            0.0f, -0.0f, tiny, -tiny, NAN, -NAN};
    // Every position of a vector and of the masked tail: the values repeated
    // to 37 floats (AVX-512: two full vectors and a 5-float tail).
    const size_t base = x.size();
    while (x.size() < 37) x.push_back(x[x.size() % base]);
    std::vector<float> y(x.size());
    FRUGAL_CHECK_OK(Sigmoid(Context{}, static_cast<int64_t>(x.size()), x.data(), y.data()));
    const float tail = isa == Isa::kRef ? 3e-39f : 0.0f;  // the most sigmoid(x <= −89) may be
    for (size_t i = 0; i < x.size(); ++i) {
      const float v = x[i], got = y[i];
      const std::string what = std::string(IsaName(isa)) + " x " + std::to_string(v) + ": " + std::to_string(got);
      if (std::isnan(v)) {
        FRUGAL_CHECK(std::isnan(got)) << what;
      } else if (v >= 20.0f) {
        FRUGAL_CHECK(got == 1.0f) << what;
      } else if (v <= -89.0f) {
        FRUGAL_CHECK(got >= 0.0f && got <= (v <= -104.0f ? 0.0f : tail)) << what;
      } else {
        FRUGAL_CHECK(got == 0.5f) << what;  // ±0 and ±denorm_min
      }
    }
    // The backward at saturation is exactly 0 (dy finite), and NaN in y or dy
    // propagates.
    std::vector<float> yy = {0.0f, 1.0f, 0.5f, NAN, 0.25f, 1.0f, 0.0f};
    std::vector<float> dy = {5.0f, -3.0f, 2.0f, 1.0f, NAN, 1e30f, -1e30f};
    std::vector<float> dx(yy.size());
    FRUGAL_CHECK_OK(SigmoidBackward(Context{}, static_cast<int64_t>(yy.size()), yy.data(), dy.data(), dx.data()));
    FRUGAL_CHECK(dx[0] == 0.0f && dx[1] == 0.0f && dx[2] == 0.5f && dx[5] == 0.0f && dx[6] == 0.0f)
        << dx[0] << " " << dx[1] << " " << dx[2] << " " << dx[5] << " " << dx[6];
    FRUGAL_CHECK(std::isnan(dx[3]) && std::isnan(dx[4])) << dx[3] << " " << dx[4];
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
    std::vector<float> y1, d1, s1, g1, h1;
    for (int threads : {1, 2, 5}) {
      FRUGAL_CHECK_OK(SetNumThreads(threads));
      std::vector<float> y(n), d(n), s(n), g(n), h(n);
      FRUGAL_CHECK_OK(Gelu(Context{}, n, x.data(), y.data()));
      FRUGAL_CHECK_OK(GeluBackward(Context{}, n, x.data(), dy.data(), d.data()));
      FRUGAL_CHECK_OK(Softmax(Context{}, rows, cols, x.data(), s.data()));
      FRUGAL_CHECK_OK(Sigmoid(Context{}, n, x.data(), g.data()));
      FRUGAL_CHECK_OK(SigmoidBackward(Context{}, n, g.data(), dy.data(), h.data()));
      if (threads == 1) {
        y1 = y, d1 = d, s1 = s, g1 = g, h1 = h;
      } else {
        FRUGAL_CHECK(y == y1 && d == d1 && s == s1 && g == g1 && h == h1) << "threads " << threads;
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
  FRUGAL_CHECK(Sigmoid(Context{}, -1, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK(Sigmoid(Context{}, 1, &v, nullptr).code() == Code::kNative);
  FRUGAL_CHECK_OK(Sigmoid(Context{}, 0, nullptr, nullptr));
  FRUGAL_CHECK(SigmoidBackward(Context{}, -3, &v, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK(SigmoidBackward(Context{}, 1, nullptr, &v, &v).code() == Code::kNative);
  FRUGAL_CHECK_OK(SigmoidBackward(Context{}, 0, nullptr, nullptr, nullptr));
  FRUGAL_CHECK(SigmoidReference(-1, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK(SigmoidBackwardReference(1, &v, &v, nullptr).code() == Code::kNative);
  FRUGAL_CHECK(Softmax(Context{}, -1, 3, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK(Softmax(Context{}, int64_t{1} << 40, int64_t{1} << 40, &v, &v).code() == Code::kShape);
  FRUGAL_CHECK_OK(Softmax(Context{}, 5, 0, nullptr, nullptr));
#ifndef FRUGAL_WITH_CUDA
  Context cuda;
  cuda.device = Device::kCuda;
  FRUGAL_CHECK(Gelu(cuda, 1, &v, &v).code() == Code::kDevice);
  FRUGAL_CHECK(Sigmoid(cuda, 1, &v, &v).code() == Code::kDevice);
  FRUGAL_CHECK(SigmoidBackward(cuda, 1, &v, &v, &v).code() == Code::kDevice);
#endif
}

FRUGAL_TEST_MAIN
