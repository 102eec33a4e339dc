// GEMM front end: checks the parameters, then runs the CPU kernel of the active
// ISA level (or the scalar reference), or the CUDA launcher for device memory.
#include "frugal/gemm.h"

#include <string>

#include "core/front_end.h"
#include "cpu/gemm_kernels.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/gemm.h"
#endif

namespace frugal {
namespace {

Status Bad(const std::string& what) { return Status::Shape("matmul: " + what); }

std::string Str(int64_t v) { return std::to_string(v); }

}  // namespace

Status ValidateGemm(const GemmParams& p) {
  if (p.batch < 0 || p.M < 0 || p.N < 0 || p.K < 0) {
    return Bad("sizes must be >= 0, got batch " + Str(p.batch) + ", M " + Str(p.M) + ", N " + Str(p.N) +
               ", K " + Str(p.K));
  }
  if (p.batch == 0 || p.M == 0 || p.N == 0) return Status::Ok();
  if (!p.C) return NullArgument("matmul", "C");
  if (p.K > 0 && (!p.A || !p.B)) return NullArgument("matmul", p.A ? "B" : "A");
  // Row-major: a row of op(X) stored untransposed must fit its leading dimension.
  const int64_t a_cols = p.transA ? p.M : p.K, b_cols = p.transB ? p.K : p.N;
  if (p.K > 0 && p.lda < std::max<int64_t>(1, a_cols)) return Bad("lda " + Str(p.lda) + " < " + Str(a_cols));
  if (p.K > 0 && p.ldb < std::max<int64_t>(1, b_cols)) return Bad("ldb " + Str(p.ldb) + " < " + Str(b_cols));
  if (p.ldc < p.N) return Bad("ldc " + Str(p.ldc) + " < N " + Str(p.N));
  if (p.residual && p.ldr < p.N) return Bad("ldr " + Str(p.ldr) + " < N " + Str(p.N));
  if (p.preActivation && p.ldp < p.N) return Bad("ldp " + Str(p.ldp) + " < N " + Str(p.N));
  if (p.strideA < 0 || p.strideB < 0 || p.strideC < 0 || p.strideR < 0 || p.strideP < 0) {
    return Bad("batch strides must be >= 0");
  }
  if (p.outputMask && (!p.outputMask->multipliers || !p.outputMask->allDropped)) {
    return NullArgument("matmul", "an outputMask callback");
  }
  if (p.activation != Activation::kNone && p.activation != Activation::kGelu && p.activation != Activation::kRelu) {
    return Status::Range("matmul: unknown activation");
  }
  return Status::Ok();
}

void GemmRegisterTile(int* rows, int* cols) {
  switch (ActiveIsa()) {
    case Isa::kAvx512: avx512::GemmTile(rows, cols); return;
    case Isa::kAvx2: avx2::GemmTile(rows, cols); return;
    case Isa::kRef: return;
  }
}

GemmParams WeightGradientGemm(int64_t tokens, int64_t din, int64_t dout, const float* A, const float* G, float* weight) {
  GemmParams g;
  g.M = dout;
  g.N = din;
  g.K = tokens;
  g.transA = true;
  g.A = G;
  g.lda = dout;
  g.B = A;
  g.ldb = din;
  g.C = weight;
  g.ldc = din;
  return g;
}

Status Gemm(const Context& ctx, const GemmParams& p) {
  FRUGAL_RETURN_IF_ERROR(ValidateGemm(p));
  return Dispatch("matmul", ctx, Empty{p.batch == 0 || p.M == 0 || p.N == 0}, [&] {
    switch (ActiveIsa()) {
      case Isa::kAvx512: avx512::GemmKernel(p); return Status::Ok();
      case Isa::kAvx2: avx2::GemmKernel(p); return Status::Ok();
      case Isa::kRef: break;
    }
    return GemmReference(p);
  }, FRUGAL_CUDA_PATH(GemmCuda(p, ctx.stream)));
}

}  // namespace frugal
