// Front end of the dp family: checks, the norm-method cost model, and the CPU and
// CUDA orchestration of GEMMs and small loops:
//   Gram norms:   CPU: the fused per-sample kernel (dp_kernels.h: both Grams blockwise
//                 in registers, symmetric halves once); CUDA: AᵢAᵢᵀ and GᵢGᵢᵀ as
//                 batched GEMMs, then ⟨·,·⟩ per sample;
//   materialized: GᵢᵀAᵢ as batched GEMMs, then ‖·‖² per sample (kept for the
//                 clipped sum when the caller passes perSample);
//   clipped sum:  (c ⊙ G)ᵀ A over all B·T rows, one GEMM, or Σᵢ cᵢ·perSampleᵢ.
// Workspace comes from a grow-only per-thread buffer, so repeated calls of one shape
// do not allocate (or fault in fresh pages) each time.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "cpu/kernel_table.h"
#include "cpu/dp_kernels.h"
#include "cpu/primitives/vector.h"
#include "frugal/dp.h"
#include "frugal/gemm.h"
#include "frugal/isa.h"
#include "frugal/random.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/dp.h"
#include "cuda/primitives.h"
#include "frugal/cuda.h"
#endif

namespace frugal {

const DpKernels& DpKernelsFor(Isa isa) {
  static const DpKernels kRef{ref::DpGramNorm};
  static const DpKernels kAvx2{avx2::DpGramNorm};
  static const DpKernels kAvx512{avx512::DpGramNorm};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

NormMethod ChooseNormMethod(int64_t T, int64_t din, int64_t dout) {
  // Per sample: T²(din + dout) for the two Grams against T·din·dout for GᵢᵀAᵢ.
  const double gram = static_cast<double>(T) * T * (din + dout);
  const double materialize = static_cast<double>(T) * din * dout;
  return gram <= materialize ? NormMethod::kGram : NormMethod::kMaterialize;
}

namespace {

// At most this many floats per workspace region: bounds memory at large T or layers
// (samples are processed in chunks that fit).
constexpr int64_t kMaxRegion = int64_t{1} << 22;
// Elements per noise task (secure draws use 4 normals each).
constexpr int64_t kNoiseChunk = 4096;

Status CheckLinear(const char* op, const LinearGradParams& p) {
  if (p.B < 0 || p.T < 0 || p.din < 0 || p.dout < 0) {
    return Status::Shape(std::string(op) + ": expected B, T, din, dout >= 0, got " + std::to_string(p.B) + ", " +
                         std::to_string(p.T) + ", " + std::to_string(p.din) + ", " + std::to_string(p.dout));
  }
  if (p.B * p.T * p.din > 0 && !p.A) return NullArgument(op, "A");
  if (p.B * p.T * p.dout > 0 && !p.G) return NullArgument(op, "G");
  return Status::Ok();
}

Status CheckC(float C) {
  if (!(C >= 0) || !std::isfinite(C)) return Status::Range("C: expected a finite clipping norm >= 0, got " + std::to_string(C));
  return Status::Ok();
}

// Batched Gram-type products C[b] = X[b]·Y[b]ᵀ ([M, N] from rows of length K; sample b
// starts `stride` floats after sample b−1 in X and Y, `strideC` in C).
Status BatchedProduct(const Context& ctx, int64_t n, int64_t M, int64_t N, int64_t K, const float* X, const float* Y,
                      int64_t stride, float* C, int64_t strideC) {
  GemmParams g;
  g.batch = n;
  g.M = M;
  g.N = N;
  g.K = K;
  g.transB = true;
  g.A = X;
  g.lda = K;
  g.strideA = stride;
  g.B = Y;
  g.ldb = K;
  g.strideB = stride;
  g.C = C;
  g.ldc = N;
  g.strideC = strideC;
  return Gemm(ctx, g);
}

// Per-sample gradients GᵢᵀAᵢ ([dout, din] each, contiguous in out) of n samples.
Status GradientProducts(const Context& ctx, int64_t n, const LinearGradParams& p, const float* A, const float* G,
                        float* out) {
  GemmParams g = WeightGradientGemm(p.T, p.din, p.dout, A, G, out);
  g.batch = n;
  g.strideA = p.T * p.dout;
  g.strideB = p.T * p.din;
  g.strideC = p.dout * p.din;
  return Gemm(ctx, g);
}

// weight [dout, din] = Gsᵀ·A over all rows (Gs already scaled per sample).
Status WeightProduct(const Context& ctx, const LinearGradParams& p, const float* Gs, float* weight) {
  return Gemm(ctx, WeightGradientGemm(p.B * p.T, p.din, p.dout, p.A, Gs, weight));
}

// ---- CPU ------------------------------------------------------------------------

// biasSq[i] = ‖Σ_t g_it‖²: per sample the token sum (rows in order), then its norm.
// Samples are few and rows long, so the column-block loop parallelises inside each.
Status BiasNormsCpu(const LinearGradParams& p, float* biasSq) {
  const PrimitiveKernels& prim = PrimitiveKernelsFor(ActiveIsa());
  float* sums = nullptr;
  FRUGAL_RETURN_IF_ERROR(Workspace("dp", 0, p.dout, &sums));
  for (int64_t i = 0; i < p.B; ++i) {
    WeightedColumnSums(p.G + i * p.T * p.dout, p.T, p.dout, nullptr, 1, sums);
    biasSq[i] = static_cast<float>(prim.dot(sums, sums, p.dout));
  }
  return Status::Ok();
}

// Materialized norms: GᵢᵀAᵢ for a chunk of samples as one batched GEMM, then ‖·‖².
// With perSample, all samples go there (one chunk) and stay.
Status MaterializedNormsCpu(const Context& ctx, const LinearGradParams& p, float* weightSq, float* perSample) {
  const PrimitiveKernels& prim = PrimitiveKernelsFor(ActiveIsa());
  const int64_t B = p.B, T = p.T, din = p.din, dout = p.dout, region = dout * din;
  const int64_t chunk = perSample ? B : std::max<int64_t>(1, std::min<int64_t>(B, kMaxRegion / region));
  float* ws = perSample;
  if (!ws) FRUGAL_RETURN_IF_ERROR(Workspace("dp", 0, chunk * region, &ws));
  for (int64_t i0 = 0; i0 < B; i0 += chunk) {
    const int64_t n = std::min(chunk, B - i0);
    FRUGAL_RETURN_IF_ERROR(GradientProducts(ctx, n, p, p.A + i0 * T * din, p.G + i0 * T * dout, ws));
    ParallelFor(n, [&](int64_t j) { weightSq[i0 + j] = static_cast<float>(prim.dot(ws + j * region, ws + j * region, region)); });
  }
  return Status::Ok();
}

Status NormsCpu(const Context& ctx, const LinearGradParams& p, NormMethod method, float* weightSq, float* biasSq,
                float* perSample) {
  const DpKernels& k = DpKernelsFor(ActiveIsa());
  const PrimitiveKernels& prim = PrimitiveKernelsFor(ActiveIsa());
  if (biasSq) FRUGAL_RETURN_IF_ERROR(BiasNormsCpu(p, biasSq));
  if (method == NormMethod::kMaterialize) return MaterializedNormsCpu(ctx, p, weightSq, perSample);
  // Gram: one task per sample, the fused kernel (no Gram stored, no workspace).
  // 2-D inputs (T = 1) reduce to ‖gᵢaᵢᵀ‖² = ‖aᵢ‖²·‖gᵢ‖².
  ParallelFor(p.B, [&](int64_t i) {
    const float* a = p.A + i * p.T * p.din;
    const float* g = p.G + i * p.T * p.dout;
    weightSq[i] = static_cast<float>(p.T == 1 ? prim.dot(a, a, p.din) * prim.dot(g, g, p.dout)
                                              : k.gram_norm(a, g, p.T, p.din, p.dout));
  });
  return Status::Ok();
}

Status ClippedCpu(const Context& ctx, const LinearGradParams& p, const float* factors, float* weight, float* bias,
                  const float* perSample) {
  const int64_t rows = p.B * p.T, per = p.T * p.dout;
  if (bias) WeightedColumnSums(p.G, rows, p.dout, factors, p.T, bias);
  if (p.din == 0) return Status::Ok();
  if (perSample) {
    WeightedColumnSums(perSample, p.B, p.dout * p.din, factors, 1, weight);
    return Status::Ok();
  }
  float* gs = nullptr;
  FRUGAL_RETURN_IF_ERROR(Workspace("dp", 0, rows * p.dout, &gs));
  ParallelFor(p.B, [&](int64_t i) {
    const float c = factors[i];
    const float* src = p.G + i * per;
    float* dst = gs + i * per;
    for (int64_t e = 0; e < per; ++e) dst[e] = c * src[e];
  });
  return WeightProduct(ctx, p, gs, weight);
}

Status ClipRowsCpu(const float* rows, int64_t B, int64_t p, float C, ClipRule rule, float* sum, float* factors) {
  const PrimitiveKernels& prim = PrimitiveKernelsFor(ActiveIsa());
  ParallelFor(B, [&](int64_t i) {
    factors[i] = ClipFactor(static_cast<float>(std::sqrt(prim.dot(rows + i * p, rows + i * p, p))), C, rule);
  });
  WeightedColumnSums(rows, B, p, factors, 1, sum);
  return Status::Ok();
}

Status NoiseCpu(float* t, int64_t n, float std, StreamId id, uint64_t offset, bool secure) {
  const PrimitiveKernels& prim = PrimitiveKernelsFor(ActiveIsa());
  const int64_t per = secure ? 4 : 1;
  const int64_t tasks = (n + kNoiseChunk - 1) / kNoiseChunk;
  Context cpu;
  std::vector<Status> status(static_cast<size_t>(tasks));
  ParallelFor(tasks, [&](int64_t task) {
    float z[4 * kNoiseChunk];
    const int64_t e0 = task * kNoiseChunk, len = std::min(kNoiseChunk, n - e0);
    Status s = RandomNormal(cpu, id, (offset + static_cast<uint64_t>(e0)) * per, len * per, 1.0f, z);
    if (!s.ok()) {
      status[task] = s;
      return;
    }
    if (secure) {
      for (int64_t e = 0; e < len; ++e) z[e] = 0.5f * ((z[4 * e] + z[4 * e + 1]) + (z[4 * e + 2] + z[4 * e + 3]));
    }
    prim.axpy(t + e0, z, len, std);
  });
  for (const Status& s : status) FRUGAL_RETURN_IF_ERROR(s);
  return Status::Ok();
}

// ---- CUDA -----------------------------------------------------------------------
#ifdef FRUGAL_WITH_CUDA

// ‖Σ_t g_it‖² per sample.
Status BiasNormsCuda(const Context& ctx, const LinearGradParams& p, float* biasSq) {
  DeviceBuffer sums;
  FRUGAL_RETURN_IF_ERROR(sums.AllocateFloats(p.B * p.dout));
  FRUGAL_RETURN_IF_ERROR(SumTokensCuda(p.G, p.B, p.T, p.dout, sums.get(), ctx.stream));
  return DpRowDotsCuda(sums.get(), sums.get(), p.B, p.dout, biasSq, ctx.stream);
}

Status NormsCuda(const Context& ctx, const LinearGradParams& p, NormMethod method, float* weightSq, float* biasSq,
                 float* perSample) {
  const int64_t B = p.B, T = p.T, din = p.din, dout = p.dout;
  if (biasSq) FRUGAL_RETURN_IF_ERROR(BiasNormsCuda(ctx, p, biasSq));
  const int64_t region = method == NormMethod::kGram ? T * T : dout * din;
  const int64_t chunk =
      perSample ? B : std::max<int64_t>(1, std::min<int64_t>(B, kMaxRegion / std::max<int64_t>(region, 1)));
  DeviceBuffer ws;
  if (!perSample) FRUGAL_RETURN_IF_ERROR(ws.AllocateFloats((method == NormMethod::kGram ? 2 : 1) * chunk * region));
  for (int64_t i0 = 0; i0 < B; i0 += chunk) {
    const int64_t n = std::min(chunk, B - i0);
    const float* A = p.A + i0 * T * din;
    const float* G = p.G + i0 * T * dout;
    if (method == NormMethod::kGram) {
      float* ga = ws.get();
      float* gg = ws.get() + chunk * region;
      FRUGAL_RETURN_IF_ERROR(BatchedProduct(ctx, n, T, T, din, A, A, T * din, ga, region));
      FRUGAL_RETURN_IF_ERROR(BatchedProduct(ctx, n, T, T, dout, G, G, T * dout, gg, region));
      FRUGAL_RETURN_IF_ERROR(DpRowDotsCuda(ga, gg, n, region, weightSq + i0, ctx.stream));
    } else {
      float* grads = perSample ? perSample : ws.get();
      FRUGAL_RETURN_IF_ERROR(GradientProducts(ctx, n, p, A, G, grads));
      FRUGAL_RETURN_IF_ERROR(DpRowDotsCuda(grads, grads, n, region, weightSq + i0, ctx.stream));
    }
  }
  return CudaSynchronize(ctx.stream);
}

// sum [1, p] = factorsᵀ [1, B] · rows [B, p].
Status WeightedRowSumCuda(const Context& ctx, const float* factors, const float* rows, int64_t B, int64_t p,
                          float* sum) {
  GemmParams g;
  g.M = 1;
  g.N = p;
  g.K = B;
  g.A = factors;
  g.lda = B;
  g.B = rows;
  g.ldb = p;
  g.C = sum;
  g.ldc = p;
  return Gemm(ctx, g);
}

Status ClippedCuda(const Context& ctx, const LinearGradParams& p, const float* factors, float* weight, float* bias,
                   const float* perSample) {
  const bool weight_by_gemm = p.din > 0 && !perSample;
  DeviceBuffer gs;
  if (bias || weight_by_gemm) {
    FRUGAL_RETURN_IF_ERROR(gs.AllocateFloats(p.B * p.T * p.dout));
    FRUGAL_RETURN_IF_ERROR(DpScaleSamplesCuda(p.G, factors, p.B, p.T, p.dout, gs.get(), ctx.stream));
  }
  if (bias) {
    // Σ over all rows of the scaled G: the token sum of one "sample" of B·T rows.
    FRUGAL_RETURN_IF_ERROR(SumTokensCuda(gs.get(), 1, p.B * p.T, p.dout, bias, ctx.stream));
  }
  if (weight_by_gemm) FRUGAL_RETURN_IF_ERROR(WeightProduct(ctx, p, gs.get(), weight));
  if (p.din > 0 && perSample) {
    FRUGAL_RETURN_IF_ERROR(WeightedRowSumCuda(ctx, factors, perSample, p.B, p.dout * p.din, weight));
  }
  return CudaSynchronize(ctx.stream);
}

Status ClipFactorsCuda(const Context& ctx, const float* norms, int64_t B, float C, ClipRule rule, float* factors) {
  FRUGAL_RETURN_IF_ERROR(DpClipFactorsCuda(norms, B, C, rule, factors, ctx.stream));
  return CudaSynchronize(ctx.stream);
}

Status ClipRowsCuda(const Context& ctx, const float* rows, int64_t B, int64_t p, float C, ClipRule rule, float* sum,
                    float* factors) {
  FRUGAL_RETURN_IF_ERROR(DpRowDotsCuda(rows, rows, B, p, factors, ctx.stream));
  FRUGAL_RETURN_IF_ERROR(DpClipFactorsFromSquaresCuda(factors, B, C, rule, factors, ctx.stream));
  FRUGAL_RETURN_IF_ERROR(WeightedRowSumCuda(ctx, factors, rows, B, p, sum));
  return CudaSynchronize(ctx.stream);
}

Status NoiseCuda(const Context& ctx, float* t, int64_t n, float std, StreamId id, uint64_t offset, bool secure) {
  const int64_t per = secure ? 4 : 1;
  const int64_t chunk = std::min<int64_t>(n, kMaxRegion / per);
  DeviceBuffer z;
  FRUGAL_RETURN_IF_ERROR(z.AllocateFloats(chunk * per));
  for (int64_t e0 = 0; e0 < n; e0 += chunk) {
    const int64_t len = std::min(chunk, n - e0);
    FRUGAL_RETURN_IF_ERROR(RandomNormal(ctx, id, (offset + static_cast<uint64_t>(e0)) * per, len * per, 1.0f, z.get()));
    FRUGAL_RETURN_IF_ERROR(DpAddScaledCuda(t + e0, z.get(), len, std, secure, ctx.stream));
  }
  return CudaSynchronize(ctx.stream);
}

#endif  // FRUGAL_WITH_CUDA

// Bias norms of gradients with an empty factor (T, din or dout 0): 0 unless T, dout > 0.
Status EmptyFactorBiasNorms(const Context& ctx, const LinearGradParams& p, float* biasSq) {
  if (!biasSq || p.T == 0 || p.dout == 0) return Status::Ok();
  return Dispatch("dp.linearGradNorms", ctx, Empty{}, [&] { return BiasNormsCpu(p, biasSq); },
                  FRUGAL_CUDA_PATH(BiasNormsCuda(ctx, p, biasSq)));
}

}  // namespace

// ---- entry points -----------------------------------------------------------------

Status LinearGradNorms(const Context& ctx, const LinearGradParams& p, NormMethod method, float* weightSq,
                       float* biasSq, float* perSample) {
  const char* op = "dp.linearGradNorms";
  FRUGAL_RETURN_IF_ERROR(CheckLinear(op, p));
  if (p.B > 0 && !weightSq) return NullArgument(op, "weightSq");
  if (method == NormMethod::kAuto) method = ChooseNormMethod(p.T, p.din, p.dout);
  if (perSample && method != NormMethod::kMaterialize) {
    return Status::Range(std::string(op) + ": keeping per-sample gradients needs the materialize method, not gram");
  }
  // Some factor of every gradient is empty (or there are no samples): all weight norms are
  // 0 (no GEMM of size 0), the bias norms those of the token sums.
  const Empty empty{p.B == 0 || p.T == 0 || p.din == 0 || p.dout == 0, [&] {
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, weightSq, p.B));
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, biasSq, p.B));
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, perSample, p.B * p.dout * p.din));
    return p.B == 0 ? Status::Ok() : EmptyFactorBiasNorms(ctx, p, biasSq);
  }};
  return Dispatch(op, ctx, empty, [&] { return NormsCpu(ctx, p, method, weightSq, biasSq, perSample); },
                  FRUGAL_CUDA_PATH(NormsCuda(ctx, p, method, weightSq, biasSq, perSample)));
}

Status ClipFactors(const Context& ctx, const float* norms, int64_t B, float C, ClipRule rule, float* factors) {
  const char* op = "dp.clipFactors";
  FRUGAL_RETURN_IF_ERROR(CheckC(C));
  if (B < 0) return Status::Shape(std::string(op) + ": expected B >= 0, got " + std::to_string(B));
  if (B > 0 && !norms) return NullArgument(op, "norms");
  if (B > 0 && !factors) return NullArgument(op, "factors");
  return Dispatch(op, ctx, Empty{B == 0}, [&] {
    for (int64_t i = 0; i < B; ++i) factors[i] = ClipFactor(norms[i], C, rule);
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(ClipFactorsCuda(ctx, norms, B, C, rule, factors)));
}

Status ClippedLinearGrad(const Context& ctx, const LinearGradParams& p, const float* factors, float* weight,
                         float* bias, const float* perSample) {
  const char* op = "dp.clippedLinearGrad";
  FRUGAL_RETURN_IF_ERROR(CheckLinear(op, p));
  if (p.din * p.dout > 0 && !weight) return NullArgument(op, "weight");
  if (p.B > 0 && !factors) return NullArgument(op, "factors");
  // No rows: the sum is empty (B = 0 is a valid, empty Poisson batch), on every device.
  const Empty empty{p.B * p.T == 0 || p.dout == 0, [&] {
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, weight, p.din * p.dout));
    return ZeroFloats(ctx, bias, p.dout);
  }};
  return Dispatch(op, ctx, empty, [&] { return ClippedCpu(ctx, p, factors, weight, bias, perSample); },
                  FRUGAL_CUDA_PATH(ClippedCuda(ctx, p, factors, weight, bias, perSample)));
}

Status ClipRows(const Context& ctx, const float* rows, int64_t B, int64_t p, float C, ClipRule rule, float* sum,
                float* factors) {
  const char* op = "dp.clipRows";
  FRUGAL_RETURN_IF_ERROR(CheckC(C));
  if (B < 0 || p < 0) return Status::Shape(std::string(op) + ": expected B, p >= 0");
  if (B * p > 0 && !rows) return NullArgument(op, "rows");
  if (p > 0 && !sum) return NullArgument(op, "sum");
  if (B > 0 && !factors) return NullArgument(op, "factors");
  // An empty batch sums to zeros; empty rows have norm 0, so every factor is the rule's factor of 0.
  const Empty empty{B == 0 || p == 0, [&] {
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, sum, p));
    return FillFloats(ctx, factors, B, ClipFactor(0.0f, C, rule));
  }};
  return Dispatch(op, ctx, empty, [&] { return ClipRowsCpu(rows, B, p, C, rule, sum, factors); },
                  FRUGAL_CUDA_PATH(ClipRowsCuda(ctx, rows, B, p, C, rule, sum, factors)));
}

Status AddNoise(const Context& ctx, float* t, int64_t n, float std, StreamId id, uint64_t offset, bool secure) {
  const char* op = "dp.addNoise";
  if (!(std >= 0) || !std::isfinite(std)) {
    return Status::Range(std::string(op) + ": std: expected a finite number >= 0, got " + std::to_string(std));
  }
  if (n < 0) return Status::Shape(std::string(op) + ": expected n >= 0");
  if (n > 0 && !t) return NullArgument(op, "t");
  return Dispatch(op, ctx, Empty{n == 0}, [&] { return NoiseCpu(t, n, std, id, offset, secure); },
                  FRUGAL_CUDA_PATH(NoiseCuda(ctx, t, n, std, id, offset, secure)));
}

}  // namespace frugal
