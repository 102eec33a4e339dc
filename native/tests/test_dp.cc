// dp family: the GEMM-based fast paths at every ISA level against the scalar
// references (double accumulation, one sample at a time), on awkward sizes;
// thread-count independence; noise streams; empty batches and bad inputs.
#include <cmath>
#include <string>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/dp.h"

using namespace frugal;
using frugal::test::ForEachIsa;
using frugal::test::RandomVector;

namespace {

struct Shape {
  int64_t B, T, din, dout;
};

// Awkward sizes around the vector widths and both sides of the cost model.
const Shape kShapes[] = {{1, 1, 1, 1},   {7, 1, 33, 17},  {3, 17, 7, 33},   {2, 33, 255, 7},
                         {5, 7, 17, 257}, {2, 257, 7, 9}, {4, 3, 257, 255}, {33, 2, 16, 16}};

std::string Name(const Shape& s) {
  return "B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) + " din=" + std::to_string(s.din) +
         " dout=" + std::to_string(s.dout);
}

LinearGradParams Params(const Shape& s, const std::vector<float>& A, const std::vector<float>& G) {
  LinearGradParams p;
  p.B = s.B;
  p.T = s.T;
  p.din = s.din;
  p.dout = s.dout;
  p.A = A.data();
  p.G = G.data();
  return p;
}

}  // namespace

FRUGAL_TEST(norms_by_every_method_match_the_reference) {
  Context ctx;
  for (const Shape& s : kShapes) {
    const auto A = RandomVector(s.B * s.T * s.din, 1), G = RandomVector(s.B * s.T * s.dout, 2);
    const LinearGradParams p = Params(s, A, G);
    std::vector<float> wantW(s.B), wantB(s.B), wantM(s.B), gotW(s.B), gotB(s.B);
    FRUGAL_CHECK_OK(LinearGradNormsReference(p, NormMethod::kGram, wantW.data(), wantB.data()));
    FRUGAL_CHECK_OK(LinearGradNormsReference(p, NormMethod::kMaterialize, wantM.data(), nullptr));
    // The two references are independent derivations of the same quantity.
    FRUGAL_EXPECT_CLOSE(wantM.data(), wantW.data(), s.B, 1e-6, 1e-5, "gram ref vs materialized ref " + Name(s));
    ForEachIsa([&](Isa) {
      for (NormMethod m : {NormMethod::kGram, NormMethod::kMaterialize, NormMethod::kAuto}) {
        FRUGAL_CHECK_OK(LinearGradNorms(ctx, p, m, gotW.data(), gotB.data()));
        // fp32 products summed in T² or din·dout terms: relative 1e-4 of the fp64 value.
        FRUGAL_EXPECT_CLOSE(gotW.data(), wantW.data(), s.B, 1e-6, 1e-4, "weight norms " + Name(s));
        FRUGAL_EXPECT_CLOSE(gotB.data(), wantB.data(), s.B, 1e-6, 1e-4, "bias norms " + Name(s));
      }
    });
  }
}

FRUGAL_TEST(auto_picks_the_cheaper_method) {
  FRUGAL_CHECK(ChooseNormMethod(128, 768, 768) == NormMethod::kGram);
  FRUGAL_CHECK(ChooseNormMethod(16, 768, 768) == NormMethod::kGram);
  FRUGAL_CHECK(ChooseNormMethod(512, 768, 768) == NormMethod::kMaterialize);
  FRUGAL_CHECK(ChooseNormMethod(1, 1, 1) == NormMethod::kMaterialize);  // 2 > 1
}

FRUGAL_TEST(clipped_sum_matches_the_reference) {
  Context ctx;
  for (const Shape& s : kShapes) {
    const auto A = RandomVector(s.B * s.T * s.din, 3), G = RandomVector(s.B * s.T * s.dout, 4);
    auto factors = RandomVector(s.B, 5);
    for (float& f : factors) f = std::fabs(f);
    const LinearGradParams p = Params(s, A, G);
    std::vector<float> wantW(s.dout * s.din), wantB(s.dout), gotW(s.dout * s.din), gotB(s.dout);
    FRUGAL_CHECK_OK(ClippedLinearGradReference(p, factors.data(), wantW.data(), wantB.data()));
    ForEachIsa([&](Isa) {
      FRUGAL_CHECK_OK(ClippedLinearGrad(ctx, p, factors.data(), gotW.data(), gotB.data()));
      // Sums of B·T fp32 products of magnitude ≤ 1: absolute 1e-5·(B·T), relative 1e-4.
      const double atol = 1e-5 * s.B * s.T;
      FRUGAL_EXPECT_CLOSE(gotW.data(), wantW.data(), wantW.size(), atol, 1e-4, "weight " + Name(s));
      FRUGAL_EXPECT_CLOSE(gotB.data(), wantB.data(), wantB.size(), atol, 1e-4, "bias " + Name(s));
    });
  }
}

// Kept per-sample gradients: LinearGradNorms stores GᵢᵀAᵢ (checked against a plain
// double loop), and ClippedLinearGrad's weighted sum of them equals the reference.
FRUGAL_TEST(kept_per_sample_gradients_give_the_same_norms_and_clipped_sum) {
  Context ctx;
  for (const Shape& s : kShapes) {
    const auto A = RandomVector(s.B * s.T * s.din, 6), G = RandomVector(s.B * s.T * s.dout, 7);
    auto factors = RandomVector(s.B, 8);
    for (float& f : factors) f = std::fabs(f);
    const LinearGradParams p = Params(s, A, G);
    const int64_t region = s.dout * s.din;
    std::vector<float> wantPs(s.B * region);
    for (int64_t i = 0; i < s.B; ++i)
      for (int64_t o = 0; o < s.dout; ++o)
        for (int64_t j = 0; j < s.din; ++j) {
          double acc = 0;
          for (int64_t t = 0; t < s.T; ++t) {
            acc += static_cast<double>(G[(i * s.T + t) * s.dout + o]) * A[(i * s.T + t) * s.din + j];
          }
          wantPs[i * region + o * s.din + j] = static_cast<float>(acc);
        }
    std::vector<float> wantN(s.B), wantW(region), wantB(s.dout);
    FRUGAL_CHECK_OK(LinearGradNormsReference(p, NormMethod::kMaterialize, wantN.data(), nullptr));
    FRUGAL_CHECK_OK(ClippedLinearGradReference(p, factors.data(), wantW.data(), wantB.data()));
    ForEachIsa([&](Isa) {
      std::vector<float> ps(s.B * region, 9.0f), gotN(s.B), gotW(region), gotB(s.dout);
      FRUGAL_CHECK_OK(LinearGradNorms(ctx, p, NormMethod::kMaterialize, gotN.data(), nullptr, ps.data()));
      const double atol = 1e-5 * s.B * s.T;
      FRUGAL_EXPECT_CLOSE(ps.data(), wantPs.data(), ps.size(), 1e-5 * s.T, 1e-4, "per-sample gradients " + Name(s));
      FRUGAL_EXPECT_CLOSE(gotN.data(), wantN.data(), s.B, 1e-6, 1e-4, "norms " + Name(s));
      FRUGAL_CHECK_OK(ClippedLinearGrad(ctx, p, factors.data(), gotW.data(), gotB.data(), ps.data()));
      FRUGAL_EXPECT_CLOSE(gotW.data(), wantW.data(), wantW.size(), atol, 1e-4, "weight " + Name(s));
      FRUGAL_EXPECT_CLOSE(gotB.data(), wantB.data(), wantB.size(), atol, 1e-4, "bias " + Name(s));
    });
    // Gram computes no per-sample gradients to keep.
    std::vector<float> ps(s.B * region), n(s.B);
    FRUGAL_CHECK(LinearGradNorms(ctx, p, NormMethod::kGram, n.data(), nullptr, ps.data()).code() == Code::kRange);
  }
}

FRUGAL_TEST(clip_rows_and_factors_match_the_reference) {
  Context ctx;
  for (int64_t B : {1, 7, 33}) {
    for (int64_t p : {1, 17, 255, 257}) {
      const auto rows = RandomVector(B * p, 6);
      for (ClipRule rule : {ClipRule::kAbadi, ClipRule::kAutomatic}) {
        std::vector<float> wantS(p), wantF(B), gotS(p), gotF(B);
        FRUGAL_CHECK_OK(ClipRowsReference(rows.data(), B, p, 0.7f, rule, wantS.data(), wantF.data()));
        ForEachIsa([&](Isa) {
          FRUGAL_CHECK_OK(ClipRows(ctx, rows.data(), B, p, 0.7f, rule, gotS.data(), gotF.data()));
          FRUGAL_EXPECT_CLOSE(gotF.data(), wantF.data(), B, 1e-7, 1e-5, "factors");
          FRUGAL_EXPECT_CLOSE(gotS.data(), wantS.data(), p, 1e-5, 1e-4, "sum");
        });
      }
    }
  }
  std::vector<float> norms = {0.0f, 0.5f, 1.0f, 4.0f}, f(4);
  FRUGAL_CHECK_OK(ClipFactors(ctx, norms.data(), 4, 1.0f, ClipRule::kAbadi, f.data()));
  FRUGAL_CHECK(f[0] == 1.0f && f[1] == 1.0f && std::fabs(f[3] - 0.25f) < 1e-6f);
  FRUGAL_CHECK_OK(ClipFactors(ctx, norms.data(), 4, 1.0f, ClipRule::kAutomatic, f.data()));
  FRUGAL_CHECK(std::fabs(f[0] - 100.0f) < 1e-3f && std::fabs(f[2] - 1.0f / 1.01f) < 1e-6f);
}

FRUGAL_TEST(results_do_not_depend_on_the_thread_count) {
  Context ctx;
  const Shape s{6, 140, 96, 80};  // T spans three Gram blocks, the last one ragged
  const auto A = RandomVector(s.B * s.T * s.din, 7), G = RandomVector(s.B * s.T * s.dout, 8);
  const auto factors = RandomVector(s.B, 9);
  const LinearGradParams p = Params(s, A, G);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    FRUGAL_CHECK_OK(SetNumThreads(threads));
    std::vector<float> out(2 * s.B + s.dout * s.din + s.dout + 5000, 0.0f);
    float* w = out.data() + 2 * s.B;
    FRUGAL_CHECK_OK(LinearGradNorms(ctx, p, NormMethod::kGram, out.data(), out.data() + s.B));
    FRUGAL_CHECK_OK(ClippedLinearGrad(ctx, p, factors.data(), w, w + s.dout * s.din));
    FRUGAL_CHECK_OK(AddNoise(ctx, w + s.dout * s.din + s.dout, 5000, 1.0f, {42, 3, kTagDpNoise}, 0, false));
    runs.push_back(out);
  }
  for (size_t r = 1; r < runs.size(); ++r) FRUGAL_CHECK(runs[r] == runs[0]) << "run " << r;
  FRUGAL_CHECK_OK(SetNumThreads(2));
}

FRUGAL_TEST(noise_follows_the_stream_contract) {
  Context ctx;
  for (bool secure : {false, true}) {
    for (int64_t n : {1, 7, 4097, 20000}) {
      auto want = RandomVector(n, 10), got = want;
      FRUGAL_CHECK_OK(AddNoiseReference(want.data(), n, 0.5f, {7, 11, kTagDpNoise}, 5, secure));
      ForEachIsa([&](Isa) {
        auto t = got;
        FRUGAL_CHECK_OK(AddNoise(ctx, t.data(), n, 0.5f, {7, 11, kTagDpNoise}, 5, secure));
        // Normals agree to a few ulp across ISA levels (DESIGN.md).
        FRUGAL_EXPECT_CLOSE(t.data(), want.data(), n, 1e-5, 1e-5, secure ? "secure noise" : "noise");
      });
    }
    // Mean 0 and standard deviation `std` (n = 2e5: bounds of about 6 standard errors).
    std::vector<float> z(200000, 0.0f);
    FRUGAL_CHECK_OK(AddNoise(ctx, z.data(), z.size(), 2.0f, {99, 0, kTagDpNoise}, 0, secure));
    double m = 0, v = 0;
    for (float x : z) m += x;
    m /= z.size();
    for (float x : z) v += (x - m) * (x - m);
    v /= z.size();
    FRUGAL_CHECK(std::fabs(m) < 0.03) << "mean " << m;
    FRUGAL_CHECK(std::fabs(std::sqrt(v) - 2.0) < 0.02) << "std " << std::sqrt(v);
  }
}

FRUGAL_TEST(empty_batches_give_zeros) {
  Context ctx;
  std::vector<float> w(12, 5.0f), b(3, 5.0f), sum(4, 5.0f);
  LinearGradParams p;
  p.B = 0;
  p.T = 3;
  p.din = 4;
  p.dout = 3;
  FRUGAL_CHECK_OK(LinearGradNorms(ctx, p, NormMethod::kAuto, nullptr, nullptr));
  FRUGAL_CHECK_OK(ClippedLinearGrad(ctx, p, nullptr, w.data(), b.data()));
  for (float x : w) FRUGAL_CHECK(x == 0.0f);
  for (float x : b) FRUGAL_CHECK(x == 0.0f);
  FRUGAL_CHECK_OK(ClipRows(ctx, nullptr, 0, 4, 1.0f, ClipRule::kAbadi, sum.data(), nullptr));
  for (float x : sum) FRUGAL_CHECK(x == 0.0f);
}

FRUGAL_TEST(bad_inputs_are_refused) {
  Context ctx;
  std::vector<float> x(16, 1.0f), f(4);
  FRUGAL_CHECK(ClipFactors(ctx, x.data(), 4, -1.0f, ClipRule::kAbadi, f.data()).code() == Code::kRange);
  FRUGAL_CHECK(ClipFactors(ctx, x.data(), 4, NAN, ClipRule::kAbadi, f.data()).code() == Code::kRange);
  FRUGAL_CHECK(ClipRows(ctx, x.data(), 4, 4, INFINITY, ClipRule::kAbadi, f.data(), f.data()).code() == Code::kRange);
  FRUGAL_CHECK(AddNoise(ctx, x.data(), 16, -1.0f, {}, 0, false).code() == Code::kRange);
  LinearGradParams p;
  p.B = -1;
  FRUGAL_CHECK(LinearGradNorms(ctx, p, NormMethod::kAuto, f.data(), nullptr).code() == Code::kShape);
  p.B = 2;
  p.T = 2;
  p.din = 2;
  p.dout = 2;
  FRUGAL_CHECK(LinearGradNorms(ctx, p, NormMethod::kGram, f.data(), nullptr).code() == Code::kNative);  // null A: a caller bug
  Context cuda;
  cuda.device = Device::kCuda;
#ifndef FRUGAL_WITH_CUDA
  FRUGAL_CHECK(ClipFactors(cuda, x.data(), 4, 1.0f, ClipRule::kAbadi, f.data()).code() == Code::kDevice);
#endif
}

FRUGAL_TEST_MAIN
