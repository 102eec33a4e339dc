// MLP Fusion front end: argument checks, then the fused FFN as two GEMMs (the
// first with bias, activation, the column scale n and the pre-activation store
// in its epilogue) and its backward as four GEMMs around one gate pass. The
// sequence is the same on every device; only the workspace, the gate and the
// column sums are the backend's.
#include "frugal/mlp_fusion.h"

#include <algorithm>
#include <string>

#include "core/front_end.h"
#include "cpu/kernel_table.h"
#include "cpu/mlp_fusion_kernels.h"
#include "cpu/primitives/vector.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/mlp_fusion.h"
#include "cuda/primitives.h"
#endif

namespace frugal {

const MlpFusionKernels& MlpFusionKernelsFor(Isa isa) {
  static const MlpFusionKernels kRef{ref::GateBackwardRow};
  static const MlpFusionKernels kAvx2{avx2::GateBackwardRow};
  static const MlpFusionKernels kAvx512{avx512::GateBackwardRow};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

namespace {

constexpr int64_t kRowsPerTask = 16;

std::string Str(int64_t v) { return std::to_string(v); }

Status CheckSizes(const char* op, int64_t tokens, int64_t d, int64_t K, Activation act) {
  if (tokens < 0 || d < 1 || K < 1) {
    return Status::Shape(std::string(op) + ": expected tokens >= 0, d >= 1 and K >= 1, got tokens " + Str(tokens) +
                         ", d " + Str(d) + ", K " + Str(K));
  }
  if (act != Activation::kGelu && act != Activation::kRelu) {
    return Status::Range(std::string(op) + ": the activation must be GELU or ReLU");
  }
  return Status::Ok();
}

// y = x·Wᵀ (+ bias): the Linear layer's GEMM, W [out, in].
GemmParams LinearGemm(int64_t tokens, int64_t in, int64_t out, const float* x, const float* W, const float* bias,
                      float* y) {
  GemmParams g;
  g.M = tokens;
  g.N = out;
  g.K = in;
  g.A = x;
  g.lda = in;
  g.B = W;
  g.ldb = in;
  g.transB = true;
  g.C = y;
  g.ldc = out;
  g.bias = bias;
  return g;
}

// dx = dy·W, W [out, in]: the Linear layer's input gradient.
GemmParams InputGradientGemm(int64_t tokens, int64_t in, int64_t out, const float* dy, const float* W, float* dx) {
  GemmParams g;
  g.M = tokens;
  g.N = in;
  g.K = out;
  g.A = dy;
  g.lda = out;
  g.B = W;
  g.ldb = in;
  g.C = dx;
  g.ldc = in;
  return g;
}

Status ForwardOn(const Context& ctx, const FusedFfnParams& p, float* hidden) {
  GemmParams first = LinearGemm(p.tokens, p.d, p.K, p.x, p.W1, p.b1, hidden);
  first.activation = p.activation;
  first.colScale = p.counts;
  first.preActivation = p.pre;
  first.ldp = p.K;
  FRUGAL_RETURN_IF_ERROR(Gemm(ctx, first));
  return Gemm(ctx, LinearGemm(p.tokens, p.K, p.d, hidden, p.W2, p.b2, p.y));
}

// The backend's part of the backward: the gate and the column sums.
struct BackwardOps {
  std::function<Status(float* h, float* dpre)> gate;  // dpre holds dh on entry
  std::function<Status(const float* rows, int64_t cols, float* out)> column_sums;
};

Status BackwardOn(const Context& ctx, const FusedFfnBackwardParams& p, float* h, float* dpre, const BackwardOps& ops) {
  FRUGAL_RETURN_IF_ERROR(Gemm(ctx, InputGradientGemm(p.tokens, p.K, p.d, p.dy, p.W2, dpre)));  // dh
  FRUGAL_RETURN_IF_ERROR(ops.gate(h, dpre));
  FRUGAL_RETURN_IF_ERROR(Gemm(ctx, WeightGradientGemm(p.tokens, p.K, p.d, h, p.dy, p.dW2)));
  FRUGAL_RETURN_IF_ERROR(Gemm(ctx, WeightGradientGemm(p.tokens, p.d, p.K, p.x, dpre, p.dW1)));
  if (p.db2) FRUGAL_RETURN_IF_ERROR(ops.column_sums(p.dy, p.d, p.db2));
  if (p.db1) FRUGAL_RETURN_IF_ERROR(ops.column_sums(dpre, p.K, p.db1));
  if (p.dx) FRUGAL_RETURN_IF_ERROR(Gemm(ctx, InputGradientGemm(p.tokens, p.d, p.K, dpre, p.W1, p.dx)));
  return Status::Ok();
}

}  // namespace

Status FusedFfn(const Context& ctx, const FusedFfnParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("mlpFusion.ffn", p.tokens, p.d, p.K, p.activation));
  if (p.tokens > 0) {
    if (!p.x || !p.W1 || !p.W2) return NullArgument("mlpFusion.ffn", !p.x ? "x" : !p.W1 ? "W1" : "W2");
    if (!p.pre || !p.y) return NullArgument("mlpFusion.ffn", !p.pre ? "pre" : "y");
  }
  const auto cpu = [&] {
    float* hidden;
    FRUGAL_RETURN_IF_ERROR(Workspace("mlpFusion.ffn", 0, p.tokens * p.K, &hidden));
    return ForwardOn(ctx, p, hidden);
  };
  return Dispatch("mlpFusion.ffn", ctx, Empty{p.tokens == 0}, cpu, FRUGAL_CUDA_PATH([&] {
    DeviceBuffer hidden;
    FRUGAL_RETURN_IF_ERROR(hidden.AllocateFloats(p.tokens * p.K));
    return ForwardOn(ctx, p, hidden.get());
  }()));
}

Status FusedFfnBackward(const Context& ctx, const FusedFfnBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("mlpFusion.ffnBackward", p.tokens, p.d, p.K, p.activation));
  if (!p.dW1 || !p.dW2) return NullArgument("mlpFusion.ffnBackward", !p.dW1 ? "dW1" : "dW2");
  if (p.tokens > 0 && (!p.x || !p.W1 || !p.W2 || !p.pre || !p.dy)) {
    return NullArgument("mlpFusion.ffnBackward", !p.x ? "x" : !p.W1 ? "W1" : !p.W2 ? "W2" : !p.pre ? "pre" : "dy");
  }
  // No tokens: every gradient is a sum over nothing.
  const auto zeros = [&] {
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.dW1, p.K * p.d));
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.dW2, p.d * p.K));
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.db1, p.K));
    return ZeroFloats(ctx, p.db2, p.d);
  };
  const auto cpu = [&] {
    const MlpFusionKernels& k = MlpFusionKernelsFor(ActiveIsa());
    float *h, *dpre;
    FRUGAL_RETURN_IF_ERROR(Workspace("mlpFusion.ffnBackward", 0, p.tokens * p.K, &h));
    FRUGAL_RETURN_IF_ERROR(Workspace("mlpFusion.ffnBackward", 1, p.tokens * p.K, &dpre));
    BackwardOps ops;
    ops.gate = [&](float* hh, float* dd) {
      ParallelFor(CeilDiv(p.tokens, kRowsPerTask), [&](int64_t t) {
        for (int64_t r = t * kRowsPerTask; r < std::min(p.tokens, (t + 1) * kRowsPerTask); ++r) {
          const int64_t o = r * p.K;
          k.gate_backward(p.K, p.pre + o, dd + o, p.counts, p.activation, hh + o, dd + o);
        }
      });
      return Status::Ok();
    };
    ops.column_sums = [&](const float* rows, int64_t cols, float* out) {
      WeightedColumnSums(rows, p.tokens, cols, nullptr, 1, out);
      return Status::Ok();
    };
    return BackwardOn(ctx, p, h, dpre, ops);
  };
  return Dispatch("mlpFusion.ffnBackward", ctx, Empty{p.tokens == 0, zeros}, cpu, FRUGAL_CUDA_PATH([&] {
    DeviceBuffer h, dpre;
    FRUGAL_RETURN_IF_ERROR(h.AllocateFloats(p.tokens * p.K));
    FRUGAL_RETURN_IF_ERROR(dpre.AllocateFloats(p.tokens * p.K));
    BackwardOps ops;
    ops.gate = [&](float* hh, float* dd) {
      return FfnGateBackwardCuda(p.tokens, p.K, p.pre, dd, p.counts, p.activation, hh, dd, ctx.stream);
    };
    ops.column_sums = [&](const float* rows, int64_t cols, float* out) {
      return SumTokensCuda(rows, 1, p.tokens, cols, out, ctx.stream);
    };
    return BackwardOn(ctx, p, h.get(), dpre.get(), ops);
  }()));
}

}  // namespace frugal
