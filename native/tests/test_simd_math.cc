// Accuracy of the vectorised math (native/src/cpu/simd/math-inl.h) at each ISA
// level against <cmath> in double, through the per-level probe of math_probe.h.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "check.h"
#include "cpu/ref/gelu_scalar.h"
#include "frugal/isa.h"
#include "math_probe.h"

using namespace frugal;

namespace {

using Fn = test::MathFn;

// Runs `check(eval)` for every vector level this CPU has; eval(fn, in, out)
// sizes out to in and fills it.
void ForEachVectorLevel(const std::function<void(const std::function<void(Fn, const std::vector<float>&, std::vector<float>&)>&)>& check) {
  for (Isa level : {Isa::kAvx2, Isa::kAvx512}) {
    if (MaxIsa() < level) continue;
    test::CurrentScope() = IsaName(level);
    const test::MathProbe probe = test::MathProbeFor(level);
    check([probe](Fn fn, const std::vector<float>& in, std::vector<float>& out) {
      out.resize(in.size());
      probe(fn, in.data(), static_cast<int64_t>(in.size()), out.data());
    });
  }
  test::CurrentScope().clear();
}

std::vector<float> Sweep(float lo, float hi, int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return v;
}

// Distance in units in the last place of the float nearest `want`.
double Ulps(float got, double want) {
  const float w = static_cast<float>(want);
  const double ulp = std::nextafter(std::fabs(w), std::numeric_limits<float>::infinity()) - std::fabs(w);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

}  // namespace

FRUGAL_TEST(exp_is_within_a_few_ulp_and_handles_the_edges) {
  ForEachVectorLevel([](auto eval) {
    std::vector<float> in = Sweep(-87.0f, 88.5f, 200003), out;
    eval(Fn::kExp, in, out);
    double worst = 0;
    float at = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const double u = Ulps(out[i], std::exp(static_cast<double>(in[i])));
      if (!(u <= worst)) worst = u, at = in[i];
    }
    FRUGAL_CHECK(worst <= 3) << "worst " << worst << " ulp at x = " << at;
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> edges = {-inf, inf, NAN, -200.0f, 100.0f, 0.0f, -100.0f, 88.7f}, e;
    eval(Fn::kExp, edges, e);
    FRUGAL_CHECK(e[0] == 0 && e[1] == inf && std::isnan(e[2]) && e[3] == 0 && e[4] == inf && e[5] == 1)
        << e[0] << " " << e[1] << " " << e[2] << " " << e[3] << " " << e[4] << " " << e[5];
    FRUGAL_CHECK(std::fabs(e[6] - std::exp(-100.0)) < 1e-45) << "subnormal " << e[6];
    FRUGAL_CHECK(std::isfinite(e[7]) && Ulps(e[7], std::exp(static_cast<double>(88.7f))) <= 3) << e[7];
  });
}

FRUGAL_TEST(erf_absolute_error_below_5e_7) {
  ForEachVectorLevel([](auto eval) {
    std::vector<float> in = Sweep(-7.0f, 7.0f, 100001), out;
    in.push_back(1e-30f);
    in.push_back(-40.0f);
    in.push_back(NAN);
    eval(Fn::kErf, in, out);
    std::vector<double> want(in.size());
    for (size_t i = 0; i < in.size(); ++i) want[i] = std::erf(static_cast<double>(in[i]));
    FRUGAL_EXPECT_CLOSE(out.data(), want.data(), in.size() - 1, 5e-7, 0.0, "erf");
    FRUGAL_CHECK(std::isnan(out.back()));
  });
}

FRUGAL_TEST(gelu_and_its_gradient_match_the_double_formula) {
  ForEachVectorLevel([](auto eval) {
    std::vector<float> in = Sweep(-12.0f, 12.0f, 100001), y, dy;
    eval(Fn::kGelu, in, y);
    eval(Fn::kGeluGrad, in, dy);
    std::vector<double> want_y(in.size()), want_dy(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      want_y[i] = GeluScalar(in[i]);
      want_dy[i] = GeluGradScalar(in[i]);
    }
    // Absolute 1e-6 plus 2e-6 relative (|x| up to 12 scales the erf error).
    FRUGAL_EXPECT_CLOSE(y.data(), want_y.data(), in.size(), 1e-6, 2e-6, "gelu");
    FRUGAL_EXPECT_CLOSE(dy.data(), want_dy.data(), in.size(), 1e-6, 2e-6, "gelu'");
    // Negative x: Φ comes from erfc, so small results keep their relative accuracy.
    std::vector<float> neg = Sweep(-9.0f, -0.5f, 10001), yn;
    eval(Fn::kGelu, neg, yn);
    std::vector<double> want_n(neg.size());
    for (size_t i = 0; i < neg.size(); ++i) want_n[i] = 0.5 * neg[i] * std::erfc(-neg[i] * 0.70710678118654752440);
    FRUGAL_EXPECT_CLOSE(yn.data(), want_n.data(), neg.size(), 0.0, 2e-5, "gelu relative, x < 0");
  });
}

FRUGAL_TEST_MAIN
