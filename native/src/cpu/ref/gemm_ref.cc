// Scalar GEMM reference: the oracle the fast paths are tested against. Double
// accumulation, the epilogue in the documented order, one element at a time.
#include "cpu/ref/gelu_scalar.h"
#include "frugal/gemm.h"

namespace frugal {

Status GemmReference(const GemmParams& p) {
  FRUGAL_RETURN_IF_ERROR(ValidateGemm(p));
  for (int64_t b = 0; b < p.batch; ++b) {
    const float* A = p.A + b * p.strideA;
    const float* B = p.B + b * p.strideB;
    float* C = p.C + b * p.strideC;
    const float* R = p.residual ? p.residual + b * p.strideR : nullptr;
    float* P = p.preActivation ? p.preActivation + b * p.strideP : nullptr;
    for (int64_t i = 0; i < p.M; ++i) {
      for (int64_t j = 0; j < p.N; ++j) {
        float mult = 1.0f;
        if (p.outputMask) p.outputMask->multipliers(p.outputMask->self, i, j, 1, &mult);
        double acc = 0;
        for (int64_t k = 0; k < p.K; ++k) {
          const double a = p.transA ? A[k * p.lda + i] : A[i * p.lda + k];
          const double bb = p.transB ? B[j * p.ldb + k] : B[k * p.ldb + j];
          acc += a * bb;
        }
        double v = mult == 0.0f ? 0.0 : mult * (p.alpha * acc);
        if (p.bias) v += p.bias[j];
        if (P) P[i * p.ldp + j] = static_cast<float>(v);
        if (p.activation == Activation::kGelu) v = GeluScalar(v);
        if (p.activation == Activation::kRelu) v = v > 0 ? v : 0.0;
        if (p.colScale) v *= p.colScale[j];
        if (R) v += R[i * p.ldr + j];
        float& c = C[i * p.ldc + j];
        if (p.beta != 0.0f) v += static_cast<double>(p.beta) * c;
        c = static_cast<float>(v);
      }
    }
  }
  return Status::Ok();
}

}  // namespace frugal
