// GradDrop: masks, apply and the masked weight gradient against the oracles
// at every ISA level, on awkward shapes and blocks that do not divide them;
// accumulation (dropped units keep beta·old), NaN products of dropped units,
// thread-count independence (bitwise), kept fractions, and bad arguments.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/graddrop.h"

using namespace frugal;
using test::ForEachIsa;

namespace {

struct Shape {
  int64_t rows, cols;
};
const Shape kShapes[] = {{1, 1}, {7, 33}, {17, 255}, {1, 1000}, {64, 257}};

GradMask MaskOf(Shape s, MaskGranularity g, double p, bool rescale) {
  GradMask m;
  m.rows = s.rows;
  m.cols = s.cols;
  m.granularity = g;
  m.blockRows = 5;
  m.blockCols = 9;  // divides neither shape
  m.p = p;
  m.rescale = rescale;
  m.seed = 0x123456789abcULL;  // above 2³²
  m.step = 0xfffffffeu;
  m.layer = 7;
  return m;
}

const MaskGranularity kGranularities[] = {MaskGranularity::kElement, MaskGranularity::kRow, MaskGranularity::kColumn,
                                          MaskGranularity::kBlock, MaskGranularity::kTensor};

std::string Name(const GradMask& m) {
  return "granularity " + std::to_string(static_cast<int>(m.granularity)) + " [" + std::to_string(m.rows) + ", " +
         std::to_string(m.cols) + "] p " + std::to_string(m.p) + (m.rescale ? " rescaled" : "");
}

}  // namespace

FRUGAL_TEST(masks_and_apply_match_the_oracle_bit_for_bit_at_every_isa) {
  ForEachIsa([](Isa) {
    for (Shape s : kShapes) {
      for (MaskGranularity g : kGranularities) {
        for (double p : {0.0, 0.1, 0.5, 0.97, 1.0}) {
          for (bool rescale : {false, true}) {
            const GradMask m = MaskOf(s, g, p, rescale);
            const size_t n = static_cast<size_t>(s.rows * s.cols);
            std::vector<float> want(n);
            test::Guarded got(n);
            FRUGAL_CHECK_OK(GradDropMaskReference(m, want.data()));
            FRUGAL_CHECK_OK(GradDropMask(Context{}, m, got.data()));
            FRUGAL_CHECK_GUARDS(got);
            FRUGAL_CHECK(got.body() == want) << "mask " << Name(m);

            std::vector<float> grad = test::RandomVector(n, 5);
            grad[0] = std::numeric_limits<float>::quiet_NaN();  // a dropped NaN must become 0
            std::vector<float> want_grad = grad;
            test::Guarded applied(grad);
            FRUGAL_CHECK_OK(GradDropApplyReference(m, want_grad.data()));
            FRUGAL_CHECK_OK(GradDropApply(Context{}, m, applied.data()));
            FRUGAL_CHECK_GUARDS(applied);
            for (size_t k = 0; k < n; ++k) {
              const float a = applied[k], w = want_grad[k];
              FRUGAL_CHECK(a == w || (std::isnan(a) && std::isnan(w))) << "apply " << Name(m) << " element " << k;
            }
          }
        }
      }
    }
  });
}

FRUGAL_TEST(masked_weight_gradient_matches_the_oracle_at_every_isa) {
  ForEachIsa([](Isa isa) {
    int64_t br = 0, bc = 0;
    GradDropPreferredBlock(&br, &bc);
    FRUGAL_CHECK(br >= 1 && bc >= 1);
    const struct {
      int64_t tokens, din, dout;
    } sizes[] = {{1, 1, 1}, {10, 33, 17}, {300, 65, 70}, {513, 257, 129}, {0, 9, 5}};
    for (const auto& z : sizes) {
      for (MaskGranularity g : kGranularities) {
        for (double p : {0.0, 0.5, 1.0}) {
          for (float beta : {0.0f, 0.5f}) {
            for (bool preferred : {false, true}) {
              if (preferred && g != MaskGranularity::kBlock) continue;
              GradMask m = MaskOf(Shape{z.dout, z.din}, g, p, true);
              if (preferred) {
                m.blockRows = br;
                m.blockCols = bc;
              }
              const std::vector<float> A = test::RandomVector(z.tokens * z.din, 1);
              const std::vector<float> G = test::RandomVector(z.tokens * z.dout, 2);
              std::vector<float> old = test::RandomVector(z.dout * z.din, 3), old_bias = test::RandomVector(z.dout, 4);
              if (beta == 0.0f && !old.empty()) old[0] = std::numeric_limits<float>::quiet_NaN();  // never read
              std::vector<float> want = old, want_bias = old_bias;
              test::Guarded got(old), got_bias(old_bias);
              MaskedLinearGradParams lp;
              lp.tokens = z.tokens;
              lp.din = z.din;
              lp.dout = z.dout;
              lp.A = A.data();
              lp.G = G.data();
              lp.beta = beta;
              lp.mask = m;
              MaskedLinearGradParams rp = lp;
              rp.weight = want.data();
              rp.bias = want_bias.data();
              FRUGAL_CHECK_OK(GradDropLinearGradReference(rp));
              lp.weight = got.data();
              lp.bias = got_bias.data();
              FRUGAL_CHECK_OK(GradDropLinearGrad(Context{}, lp));
              FRUGAL_CHECK_GUARDS(got);
              FRUGAL_CHECK_GUARDS(got_bias);
              // fp32 sums over `tokens` products of values in [-1, 1].
              const double atol = 1e-5 * std::sqrt(static_cast<double>(z.tokens) + 1);
              const std::string what = "isa " + std::to_string(static_cast<int>(isa)) + " tokens " +
                                       std::to_string(z.tokens) + " beta " + std::to_string(beta) + " " + Name(m);
              FRUGAL_EXPECT_CLOSE(got.data(), want.data(), want.size(), atol, 1e-5, "weight " + what);
              FRUGAL_EXPECT_CLOSE(got_bias.data(), want_bias.data(), want_bias.size(), atol, 1e-5, "bias " + what);
            }
          }
        }
      }
    }
  });
}

FRUGAL_TEST(a_dropped_unit_of_a_non_finite_product_is_beta_times_old) {
  for (MaskGranularity g : kGranularities) {
    GradMask m = MaskOf(Shape{20, 40}, g, 0.5, false);
    const int64_t tokens = 3;
    std::vector<float> A(tokens * 40, std::numeric_limits<float>::infinity()), G(tokens * 20, 1.0f);
    std::vector<float> w(20 * 40, 2.0f), mult(20 * 40);
    FRUGAL_CHECK_OK(GradDropMaskReference(m, mult.data()));
    MaskedLinearGradParams lp;
    lp.tokens = tokens;
    lp.din = 40;
    lp.dout = 20;
    lp.A = A.data();
    lp.G = G.data();
    lp.weight = w.data();
    lp.beta = 0.25f;
    lp.mask = m;
    FRUGAL_CHECK_OK(GradDropLinearGrad(Context{}, lp));
    for (size_t k = 0; k < w.size(); ++k) {
      if (mult[k] == 0.0f) FRUGAL_CHECK(w[k] == 0.5f) << Name(m) << " element " << k << " got " << w[k];
      if (mult[k] != 0.0f) FRUGAL_CHECK(std::isinf(w[k])) << Name(m) << " element " << k;
    }
  }
}

FRUGAL_TEST(results_do_not_depend_on_the_thread_count) {
  const int64_t tokens = 700, din = 300, dout = 200;
  const std::vector<float> A = test::RandomVector(tokens * din, 1), G = test::RandomVector(tokens * dout, 2);
  for (MaskGranularity g : kGranularities) {
    std::vector<float> first_w, first_mask, first_apply;
    for (int threads : {1, 2, 3}) {
      FRUGAL_CHECK_OK(SetNumThreads(threads));
      GradMask m = MaskOf(Shape{dout, din}, g, 0.3, true);
      std::vector<float> w(dout * din), mask(dout * din), applied = test::RandomVector(dout * din, 9);
      MaskedLinearGradParams lp;
      lp.tokens = tokens;
      lp.din = din;
      lp.dout = dout;
      lp.A = A.data();
      lp.G = G.data();
      lp.weight = w.data();
      lp.mask = m;
      FRUGAL_CHECK_OK(GradDropLinearGrad(Context{}, lp));
      FRUGAL_CHECK_OK(GradDropMask(Context{}, m, mask.data()));
      FRUGAL_CHECK_OK(GradDropApply(Context{}, m, applied.data()));
      if (threads == 1) {
        first_w = w;
        first_mask = mask;
        first_apply = applied;
      } else {
        FRUGAL_CHECK(w == first_w && mask == first_mask && applied == first_apply) << Name(m) << " threads " << threads;
      }
    }
  }
  FRUGAL_CHECK_OK(SetNumThreads(2));
}

FRUGAL_TEST(kept_fraction_is_within_four_sigma_for_every_granularity) {
  // ≥ 10⁶ units each: element 1000×1000; rows and columns of a 10⁶-long side;
  // 1×1 blocks; tensor units over 10⁶ steps is too slow, so 20000 steps (wider bound).
  const double p = 0.3;
  for (MaskGranularity g : kGranularities) {
    GradMask m = MaskOf(Shape{1000, 1000}, g, p, false);
    if (g == MaskGranularity::kRow) m = MaskOf(Shape{1000000, 1}, g, p, false);
    if (g == MaskGranularity::kColumn) m = MaskOf(Shape{1, 1000000}, g, p, false);
    if (g == MaskGranularity::kBlock) m.blockRows = m.blockCols = 1;
    double kept = 0, units = 0;
    if (g == MaskGranularity::kTensor) {
      m = MaskOf(Shape{1, 1}, g, p, false);
      for (uint32_t step = 0; step < 20000; ++step) {
        m.step = step;
        float v = 0;
        FRUGAL_CHECK_OK(GradDropMask(Context{}, m, &v));
        kept += v;
        units += 1;
      }
    } else {
      std::vector<float> out(static_cast<size_t>(m.rows * m.cols));
      FRUGAL_CHECK_OK(GradDropMask(Context{}, m, out.data()));
      for (float v : out) kept += v;
      units = static_cast<double>(out.size());
    }
    const double sigma = std::sqrt(units * p * (1 - p));
    FRUGAL_CHECK(std::fabs(kept - units * (1 - p)) < 4 * sigma) << Name(m) << " kept " << kept << " of " << units;
  }
}

FRUGAL_TEST(bad_arguments_are_refused) {
  float x = 0;
  GradMask m = MaskOf(Shape{1, 1}, MaskGranularity::kElement, 0.5, false);
  for (double p : {-0.1, 1.5, std::nan("")}) {
    m.p = p;
    FRUGAL_CHECK(GradDropMask(Context{}, m, &x).code() == Code::kRange) << "p " << p;
  }
  m = MaskOf(Shape{1, 1}, MaskGranularity::kBlock, 0.5, false);
  m.blockCols = 0;
  FRUGAL_CHECK(GradDropApply(Context{}, m, &x).code() == Code::kRange);
  m = MaskOf(Shape{1 << 20, 1 << 15}, MaskGranularity::kElement, 0.5, false);  // 2³⁵ units
  FRUGAL_CHECK(GradDropMask(Context{}, m, &x).code() == Code::kRange);
  m = MaskOf(Shape{1, 1}, MaskGranularity::kElement, 0.5, false);
  FRUGAL_CHECK(GradDropMask(Context{}, m, nullptr).code() == Code::kNative);
  MaskedLinearGradParams lp;
  lp.tokens = 1;
  lp.din = 2;
  lp.dout = 3;
  lp.mask = MaskOf(Shape{2, 3}, MaskGranularity::kRow, 0.5, false);  // transposed shape
  FRUGAL_CHECK(GradDropLinearGrad(Context{}, lp).code() == Code::kShape);
}

FRUGAL_TEST_MAIN
