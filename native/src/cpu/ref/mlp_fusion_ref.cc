// Scalar MLP Fusion: the reference level of the gate kernel and the fused FFN's
// forward and backward oracles, every sum in double, one element at a time.
#include <vector>

#include "cpu/mlp_fusion_kernels.h"
#include "cpu/ref/gelu_scalar.h"
#include "frugal/mlp_fusion.h"

namespace frugal {
namespace {

double Act(Activation act, double v) { return act == Activation::kRelu ? (v > 0 ? v : 0.0) : GeluScalar(v); }
double ActGrad(Activation act, double v) { return act == Activation::kRelu ? (v > 0 ? 1.0 : 0.0) : GeluGradScalar(v); }
double Count(const float* counts, int64_t k) { return counts ? counts[k] : 1.0; }

}  // namespace

namespace ref {

void GateBackwardRow(int64_t K, const float* pre, const float* dh, const float* counts, Activation act, float* h,
                     float* dpre) {
  for (int64_t k = 0; k < K; ++k) {
    const double n = Count(counts, k);
    h[k] = static_cast<float>(Act(act, pre[k]) * n);
    dpre[k] = static_cast<float>(dh[k] * n * ActGrad(act, pre[k]));
  }
}

}  // namespace ref

Status FusedFfnReference(const FusedFfnParams& p) {
  std::vector<double> h(static_cast<size_t>(p.K));
  for (int64_t t = 0; t < p.tokens; ++t) {
    const float* x = p.x + t * p.d;
    for (int64_t k = 0; k < p.K; ++k) {
      double v = p.b1 ? p.b1[k] : 0.0;
      for (int64_t i = 0; i < p.d; ++i) v += static_cast<double>(x[i]) * p.W1[k * p.d + i];
      p.pre[t * p.K + k] = static_cast<float>(v);
      h[k] = Act(p.activation, v) * Count(p.counts, k);
    }
    for (int64_t i = 0; i < p.d; ++i) {
      double v = p.b2 ? p.b2[i] : 0.0;
      for (int64_t k = 0; k < p.K; ++k) v += h[k] * p.W2[i * p.K + k];
      p.y[t * p.d + i] = static_cast<float>(v);
    }
  }
  return Status::Ok();
}

Status FusedFfnBackwardReference(const FusedFfnBackwardParams& p) {
  const size_t tk = static_cast<size_t>(p.tokens * p.K);
  std::vector<double> h(tk), dpre(tk);
  for (int64_t t = 0; t < p.tokens; ++t) {
    for (int64_t k = 0; k < p.K; ++k) {
      double dh = 0;
      for (int64_t i = 0; i < p.d; ++i) dh += static_cast<double>(p.dy[t * p.d + i]) * p.W2[i * p.K + k];
      const double pre = p.pre[t * p.K + k], n = Count(p.counts, k);
      h[t * p.K + k] = Act(p.activation, pre) * n;
      dpre[t * p.K + k] = dh * n * ActGrad(p.activation, pre);
    }
  }
  for (int64_t i = 0; i < p.d; ++i) {
    for (int64_t k = 0; k < p.K; ++k) {
      double w2 = 0, w1 = 0;
      for (int64_t t = 0; t < p.tokens; ++t) {
        w2 += p.dy[t * p.d + i] * h[t * p.K + k];
        w1 += dpre[t * p.K + k] * p.x[t * p.d + i];
      }
      p.dW2[i * p.K + k] = static_cast<float>(w2);
      p.dW1[k * p.d + i] = static_cast<float>(w1);
    }
  }
  for (int64_t i = 0; p.db2 && i < p.d; ++i) {
    double s = 0;
    for (int64_t t = 0; t < p.tokens; ++t) s += p.dy[t * p.d + i];
    p.db2[i] = static_cast<float>(s);
  }
  for (int64_t k = 0; p.db1 && k < p.K; ++k) {
    double s = 0;
    for (int64_t t = 0; t < p.tokens; ++t) s += dpre[t * p.K + k];
    p.db1[k] = static_cast<float>(s);
  }
  for (int64_t t = 0; p.dx && t < p.tokens; ++t) {
    for (int64_t i = 0; i < p.d; ++i) {
      double s = 0;
      for (int64_t k = 0; k < p.K; ++k) s += dpre[t * p.K + k] * p.W1[k * p.d + i];
      p.dx[t * p.d + i] = static_cast<float>(s);
    }
  }
  return Status::Ok();
}

}  // namespace frugal
