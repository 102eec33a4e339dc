// GEMM on CUDA against the scalar reference (double accumulation), through the
// front end (Context on Device::kCuda) and through GemmCuda directly: every
// transpose combination, padded leading dimensions, batches with shared and
// per-batch B, ragged edges, both tile sizes, the fused epilogue, and TF32.
//
// Tolerance, per element: |got − ref| ≤ rel·bound + 1e-6, where bound is the
// same GEMM on absolute values (|alpha|·Σ|a||b| + |bias|, times |colScale| and
// 1.13 — GELU's largest slope — plus |residual| + |beta·C|). rel = 1e-5 for fp32
// (about 170 ulp of the absolute sum; blocked fp32 sums of ≤ 1100 terms stay far
// below it) and 1.5e-3 for TF32 (each operand rounded to 10 mantissa bits:
// ≤ 2·2⁻¹¹ relative per product, accumulation in fp32).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "cuda/gemm.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

struct Case {
  int64_t batch, M, N, K;
  bool transA, transB;
  bool sharedB;   // strideB = 0
  bool epilogue;  // alpha, bias, GELU, colScale, residual and beta·C all on
  bool tf32;      // allowTf32 (only used when the problem is big enough)
  int64_t pad;    // extra elements in every leading dimension
};

std::string Name(const Case& c) {
  return "batch " + std::to_string(c.batch) + " M " + std::to_string(c.M) + " N " + std::to_string(c.N) + " K " +
         std::to_string(c.K) + (c.transA ? " At" : "") + (c.transB ? " Bt" : "") + (c.sharedB ? " sharedB" : "") +
         (c.epilogue ? " epilogue" : "") + (c.tf32 ? " tf32" : "") + " pad " + std::to_string(c.pad);
}

std::vector<float> Abs(std::vector<float> v, float times = 1.0f) {
  for (float& x : v) x = std::fabs(x) * times;
  return v;
}

// Host operands and the matching parameter block (pointers set per use).
struct Problem {
  GemmParams p;
  std::vector<float> A, B, C, bias, colScale, residual;

  explicit Problem(const Case& c) {
    p.batch = c.batch, p.M = c.M, p.N = c.N, p.K = c.K, p.transA = c.transA, p.transB = c.transB;
    const int64_t a_rows = c.transA ? c.K : c.M, a_cols = c.transA ? c.M : c.K;
    const int64_t b_rows = c.transB ? c.N : c.K, b_cols = c.transB ? c.K : c.N;
    p.lda = a_cols + c.pad, p.strideA = a_rows * p.lda;
    p.ldb = b_cols + c.pad, p.strideB = c.sharedB ? 0 : b_rows * p.ldb;
    p.ldc = c.N + c.pad, p.strideC = c.M * p.ldc;
    A = RandomVector(c.batch * p.strideA, 11);
    B = RandomVector((c.sharedB ? 1 : c.batch) * b_rows * p.ldb, 12);
    C = RandomVector(c.batch * p.strideC, 13);
    if (c.epilogue) {
      p.alpha = 0.5f, p.beta = 0.75f, p.activation = Activation::kGelu;
      p.ldr = c.N + 2 * c.pad, p.strideR = c.M * p.ldr;
      bias = RandomVector(c.N, 14), colScale = RandomVector(c.N, 15), residual = RandomVector(c.batch * p.strideR, 16);
    }
    p.allowTf32 = c.tf32;
  }

  // The parameters with pointers into the given arrays (host or device).
  GemmParams With(const float* a, const float* b, float* cc, const float* bi, const float* cs, const float* r) const {
    GemmParams q = p;
    q.A = a, q.B = b, q.C = cc, q.bias = bi, q.colScale = cs, q.residual = r;
    return q;
  }

  // The error bound's scale: the same product on absolute values (see the top of the file).
  std::vector<float> Bound() const {
    const auto a = Abs(A), b = Abs(B), r = Abs(residual), bi = Abs(bias);
    const auto cs = Abs(colScale, p.activation == Activation::kGelu ? 1.13f : 1.0f);
    std::vector<float> out = Abs(C);
    GemmParams q = With(a.data(), b.data(), out.data(), bias.empty() ? nullptr : bi.data(),
                        colScale.empty() ? nullptr : cs.data(), residual.empty() ? nullptr : r.data());
    q.alpha = std::fabs(q.alpha), q.beta = std::fabs(q.beta), q.activation = Activation::kNone;
    const Status s = GemmReference(q);
    FRUGAL_CHECK(s.ok()) << "bound: " << s.message();
    return out;
  }
};

const float* Opt(const DeviceBuffer<float>& d, const std::vector<float>& h) { return h.empty() ? nullptr : d.get(); }

// Checks the C matrices element by element (padding included: it must be untouched).
void ExpectWithin(const std::vector<float>& got, const std::vector<float>& want, const std::vector<float>& bound,
                  double rel, const std::string& what) {
  size_t bad = 0, at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= rel * bound[i] + 1e-6)) {
      if (bad++ == 0) at = i;
    }
  }
  FRUGAL_CHECK(bad == 0) << what << ": " << bad << " elements off, first at " << at << " got " << got[at] << " want "
                         << want[at] << " bound " << rel * bound[at] + 1e-6;
}

void Run(const Case& c) {
  const std::string name = Name(c);
  Problem prob(c);
  std::vector<float> want = prob.C;
  FRUGAL_CHECK_OK(GemmReference(prob.With(prob.A.data(), prob.B.data(), want.data(),
                                          prob.bias.empty() ? nullptr : prob.bias.data(),
                                          prob.colScale.empty() ? nullptr : prob.colScale.data(),
                                          prob.residual.empty() ? nullptr : prob.residual.data())));
  const std::vector<float> bound = prob.Bound();
  // Mirrors the size rule of gemm.cu (Tf32Pays).
  const bool tf32_used = c.tf32 && c.M >= 64 && c.N >= 64 && c.K >= 32 && c.batch * c.M * c.N * c.K >= (1 << 24);
  const double rel = tf32_used ? 1.5e-3 : 1e-5;
  DeviceBuffer<float> dA(prob.A), dB(prob.B), dC(prob.C), dBias(prob.bias), dScale(prob.colScale),
      dRes(prob.residual);
  const GemmParams q = prob.With(dA.get(), dB.get(), dC.get(), Opt(dBias, prob.bias), Opt(dScale, prob.colScale),
                                 Opt(dRes, prob.residual));
  FRUGAL_CHECK_OK(Gemm(CudaContext(), q));
  ExpectWithin(dC.Download(), want, bound, rel, "front end " + name);
  dC.Upload(prob.C);  // beta·C reads C: start again from the same C
  FRUGAL_CHECK_OK(GemmCuda(q, nullptr));
  const std::vector<float> got = dC.Download();
  ExpectWithin(got, want, bound, rel, "launcher " + name);
  if (tf32_used) {
    // TF32 must really differ from fp32 somewhere, or the tensor-core path did not run.
    bool differs = false;
    for (size_t i = 0; i < got.size() && !differs; ++i) differs = std::fabs(got[i] - want[i]) > 1e-5 * bound[i] + 1e-6;
    FRUGAL_CHECK(differs) << "TF32 result is fp32-exact: tensor-core path not taken? " << name;
  }
}

}  // namespace

FRUGAL_TEST(cuda_gemm_awkward_sizes_every_transpose) {
  const int64_t sizes[][3] = {{1, 1, 1}, {7, 17, 33}, {33, 255, 7}, {257, 33, 255}, {255, 257, 17}, {65, 1, 129}};
  for (const auto& s : sizes) {
    for (int t = 0; t < 4; ++t) {
      for (int64_t pad : {0, 3}) Run({1, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, false, false, false, pad});
    }
  }
}

FRUGAL_TEST(cuda_gemm_fused_epilogue) {
  for (int t = 0; t < 4; ++t) {
    Run({1, 33, 257, 17, (t & 1) != 0, (t & 2) != 0, false, true, false, 1});
    Run({2, 130, 70, 100, (t & 1) != 0, (t & 2) != 0, false, true, false, 0});
  }
}

FRUGAL_TEST(cuda_gemm_batches_shared_and_per_batch_b) {
  for (bool shared : {false, true}) {
    Run({3, 17, 33, 65, false, false, shared, false, false, 2});
    Run({5, 64, 64, 64, true, true, shared, true, false, 0});
  }
}

FRUGAL_TEST(cuda_gemm_large_tiles) {
  // Enough 128×128 tiles to fill the GPU, with ragged edges in M, N and K.
  Run({3, 1000, 1030, 77, false, false, false, true, false, 0});
  Run({2, 1030, 1000, 129, true, true, true, false, false, 1});
}

FRUGAL_TEST(cuda_gemm_tf32) {
  for (int t = 0; t < 4; ++t) {
    Run({1, 300, 300, 257, (t & 1) != 0, (t & 2) != 0, false, (t & 1) != 0, true, t == 3 ? 5 : 0});
  }
  Run({2, 513, 129, 260, false, false, true, true, true, 0});
  // Too small to pay for TF32: runs fp32 even when allowed.
  Run({1, 33, 33, 33, false, false, false, false, true, 0});
}

int main() { return frugal::test::RunAllOnCuda(); }
