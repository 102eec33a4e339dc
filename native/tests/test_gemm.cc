// GEMM: every ISA level against the scalar reference on awkward sizes, every
// transpose, padded leading dimensions, batches, each epilogue; thread-count
// independence; parameter checks.
//
// Tolerance: |got − ref| ≤ 1e-5 + 2e-6·K·(scale of the products) — fp32 sums of
// K products against a double-accumulated reference.
#include <cmath>
#include <vector>

#include "check.h"
#include "frugal/gemm.h"

using namespace frugal;
using frugal::test::RandomVector;

namespace {

struct Case {
  int64_t batch, M, N, K;
  bool transA, transB;
  bool shared_b = true;
  int64_t pad = 0;  // extra columns in every leading dimension
  bool bias = false, scale = false, residual = false, gelu = false, relu = false, pre = false;
  float alpha = 1.0f, beta = 0.0f;
};

std::string Describe(const Case& c) {
  std::string s = "batch " + std::to_string(c.batch) + " M " + std::to_string(c.M) + " N " + std::to_string(c.N) +
                  " K " + std::to_string(c.K) + (c.transA ? " tA" : "") + (c.transB ? " tB" : "");
  if (!c.shared_b) s += " perbatchB";
  if (c.pad) s += " pad";
  if (c.bias) s += " bias";
  if (c.scale) s += " colScale";
  if (c.residual) s += " residual";
  if (c.gelu) s += " gelu";
  if (c.relu) s += " relu";
  if (c.pre) s += " preActivation";
  if (c.alpha != 1.0f) s += " alpha";
  if (c.beta != 0.0f) s += " beta";
  return s;
}

// Runs one case through Gemm (active ISA) and GemmReference; compares.
void Check(const Case& c, uint32_t seed) {
  GemmParams p;
  p.batch = c.batch;
  p.M = c.M;
  p.N = c.N;
  p.K = c.K;
  p.transA = c.transA;
  p.transB = c.transB;
  p.lda = (c.transA ? c.M : c.K) + c.pad;
  p.ldb = (c.transB ? c.K : c.N) + c.pad;
  p.ldc = c.N + c.pad;
  p.ldr = c.N + c.pad;
  const int64_t a_rows = c.transA ? c.K : c.M, b_rows = c.transB ? c.N : c.K;
  p.strideA = a_rows * p.lda;
  p.strideB = c.shared_b ? 0 : b_rows * p.ldb;
  p.strideC = c.M * p.ldc;
  p.strideR = c.M * p.ldr;
  std::vector<float> A = RandomVector(static_cast<size_t>(c.batch * p.strideA + 1), seed);
  std::vector<float> B = RandomVector(static_cast<size_t>((c.shared_b ? 1 : c.batch) * b_rows * p.ldb + 1), seed + 1);
  std::vector<float> C0 = RandomVector(static_cast<size_t>(c.batch * p.strideC + 1), seed + 2);
  std::vector<float> bias = RandomVector(static_cast<size_t>(c.N + 1), seed + 3);
  std::vector<float> scale = RandomVector(static_cast<size_t>(c.N + 1), seed + 4);
  std::vector<float> R = RandomVector(static_cast<size_t>(c.batch * p.strideR + 1), seed + 5);
  p.A = A.data();
  p.B = B.data();
  p.alpha = c.alpha;
  p.beta = c.beta;
  p.bias = c.bias ? bias.data() : nullptr;
  p.colScale = c.scale ? scale.data() : nullptr;
  p.residual = c.residual ? R.data() : nullptr;
  p.activation = c.gelu ? Activation::kGelu : c.relu ? Activation::kRelu : Activation::kNone;
  p.ldp = c.N + c.pad;
  p.strideP = c.M * p.ldp;
  test::Guarded pre_got(RandomVector(static_cast<size_t>(c.batch * p.strideP + 1), seed + 6));
  std::vector<float> pre_want = pre_got.body();

  test::Guarded got(C0);
  std::vector<float> want = C0;
  p.C = got.data();
  p.preActivation = c.pre ? pre_got.data() : nullptr;
  FRUGAL_CHECK_OK(Gemm(Context{}, p));
  FRUGAL_CHECK_GUARDS(got);
  FRUGAL_CHECK_GUARDS(pre_got);
  p.C = want.data();
  p.preActivation = c.pre ? pre_want.data() : nullptr;
  FRUGAL_CHECK_OK(GemmReference(p));
  const double tol = 1e-5 + 2e-6 * static_cast<double>(c.K) * std::fabs(c.alpha);
  FRUGAL_EXPECT_CLOSE(got.data(), want.data(), got.size(), tol, 1e-5, Describe(c));
  FRUGAL_EXPECT_CLOSE(pre_got.data(), pre_want.data(), pre_got.size(), tol, 1e-5, Describe(c) + " (pre)");
}

}  // namespace

FRUGAL_TEST(gemm_matches_reference_on_awkward_sizes_and_transposes) {
  test::ForEachIsa([](Isa) {
    const int64_t sizes[] = {1, 7, 17, 33, 255, 257};
    uint32_t seed = 1;
    for (int64_t m : sizes)
      for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{33}, int64_t{257}})
        for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{255}, int64_t{257}})
          for (int t = 0; t < 4; ++t) {
            if (m * n * k > 2000000 && t != 0) continue;  // keep the reference's time in check
            Check(Case{1, m, n, k, (t & 1) != 0, (t & 2) != 0}, seed++);
          }
  });
}

FRUGAL_TEST(gemm_handles_k_beyond_one_cache_block_and_padding) {
  test::ForEachIsa([](Isa) {
    Check(Case{1, 33, 65, 600, false, false, true, 3}, 11);
    Check(Case{1, 29, 40, 513, true, true, true, 5}, 12);
    Case beta{1, 31, 47, 700, false, true, true, 2};
    beta.beta = 0.5f;
    beta.bias = beta.gelu = true;
    Check(beta, 13);
    Case pre{1, 40, 70, 600, false, true, true, 1};
    pre.bias = pre.gelu = pre.pre = pre.scale = true;
    Check(pre, 14);
    pre.gelu = false, pre.relu = true;
    Check(pre, 15);
  });
}

FRUGAL_TEST(gemm_batches_with_shared_and_per_batch_b) {
  test::ForEachIsa([](Isa) {
    Check(Case{3, 17, 33, 20, false, false, true}, 21);
    Check(Case{4, 17, 33, 20, true, false, false}, 22);
    Check(Case{2, 70, 9, 300, false, true, false, 4}, 23);
  });
}

FRUGAL_TEST(gemm_epilogues_alone_and_combined) {
  test::ForEachIsa([](Isa) {
    uint32_t seed = 100;
    for (int mask = 1; mask < 256; ++mask) {
      Case c{2, 19, 37, 45, (mask & 1) != 0, false, (mask & 32) != 0};
      c.bias = mask & 1;
      c.scale = mask & 2;
      c.residual = mask & 4;
      c.gelu = mask & 8;
      c.relu = (mask & 64) && !c.gelu;
      c.pre = mask & 128;
      c.alpha = (mask & 16) ? -1.75f : 1.0f;
      c.beta = (mask & 32) ? 0.25f : 0.0f;
      Check(c, seed++);
    }
  });
}

FRUGAL_TEST(gemm_k_zero_gives_the_epilogue_of_a_zero_product) {
  test::ForEachIsa([](Isa) {
    Case c{1, 5, 20, 0, false, false};
    c.bias = c.gelu = c.residual = true;
    c.beta = 2.0f;
    Check(c, 7);
  });
}

// Shapes that take each task split of the driver: even row ranges rounded to
// the thread count, rows down to two strips, columns when rows run out (M of
// one strip), with beta across several KC blocks; at 1, 2 and 3 threads.
FRUGAL_TEST(gemm_task_splits_match_the_reference_at_every_thread_count) {
  test::ForEachIsa([](Isa) {
    for (int threads : {1, 2, 3}) {
      FRUGAL_CHECK_OK(SetNumThreads(threads));
      Case rows{1, 301, 130, 300, false, false};
      Check(rows, 31);
      Case few_strips{1, 40, 300, 500, false, true};
      few_strips.beta = 0.5f;
      few_strips.residual = true;
      Check(few_strips, 32);
      Case columns{1, 5, 700, 700, true, false};
      columns.bias = columns.gelu = true;
      Check(columns, 33);
      Check(Case{3, 20, 150, 600, false, false, false, 1}, 34);
    }
    FRUGAL_CHECK_OK(SetNumThreads(2));
  });
}

FRUGAL_TEST(gemm_results_do_not_depend_on_thread_count) {
  test::ForEachIsa([](Isa) {
    const int64_t M = 300, N = 290, K = 700;
    std::vector<float> A = RandomVector(M * K, 1), B = RandomVector(K * N, 2), bias = RandomVector(N, 3);
    std::vector<float> first;
    for (int threads : {1, 2, 3}) {
      FRUGAL_CHECK_OK(SetNumThreads(threads));
      std::vector<float> C(M * N);
      GemmParams p;
      p.M = M, p.N = N, p.K = K, p.lda = K, p.ldb = N, p.ldc = N;
      p.A = A.data(), p.B = B.data(), p.C = C.data(), p.bias = bias.data();
      p.activation = Activation::kGelu;
      FRUGAL_CHECK_OK(Gemm(Context{}, p));
      if (first.empty()) first = C;
      FRUGAL_CHECK(C == first) << "threads " << threads;
    }
    FRUGAL_CHECK_OK(SetNumThreads(2));
  });
}

FRUGAL_TEST(gemm_rejects_bad_parameters) {
  float x[4] = {0};
  GemmParams p;
  p.M = p.N = p.K = 2;
  p.A = p.B = p.C = x;
  p.lda = p.ldb = p.ldc = 2;
  FRUGAL_CHECK_OK(ValidateGemm(p));
  GemmParams bad = p;
  bad.M = -1;
  FRUGAL_CHECK(!Gemm(Context{}, bad).ok());
  bad = p;
  bad.lda = 1;
  FRUGAL_CHECK(!Gemm(Context{}, bad).ok());
  bad = p;
  bad.C = nullptr;
  FRUGAL_CHECK(!Gemm(Context{}, bad).ok());
  bad = p;
  bad.B = nullptr;
  FRUGAL_CHECK(!Gemm(Context{}, bad).ok());
  bad = p;
  bad.activation = static_cast<Activation>(7);
  FRUGAL_CHECK(!Gemm(Context{}, bad).ok());
  Context cuda;
  cuda.device = Device::kCuda;
#ifndef FRUGAL_WITH_CUDA
  FRUGAL_CHECK(Gemm(cuda, p).code() == Code::kDevice);
#endif
}

FRUGAL_TEST_MAIN
