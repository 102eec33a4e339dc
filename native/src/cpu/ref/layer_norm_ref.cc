// Scalar LayerNorm: the oracle the fast paths are tested against. Every sum
// runs in double; the forward uses two passes (mean, then squared deviations).
#include <cmath>
#include <vector>

#include "cpu/primitives/layer_norm_rows.h"
#include "frugal/layer_norm.h"

namespace frugal {
namespace {

// Row statistics in double: mean and 1/√(var + eps).
void RowStats(int64_t cols, const float* x, float eps, double* mean, double* rstd) {
  double sum = 0;
  for (int64_t i = 0; i < cols; ++i) sum += x[i];
  const double mu = sum / static_cast<double>(cols);
  double ss = 0;
  for (int64_t i = 0; i < cols; ++i) {
    const double d = x[i] - mu;
    ss += d * d;
  }
  *mean = mu;
  *rstd = 1.0 / std::sqrt(ss / static_cast<double>(cols) + static_cast<double>(eps));
}

// dx of one row; adds dy ⊙ x̂ and dy into the accumulators when they are given.
// Acc is float for the per-row kernel and double for the whole-tensor reference.
template <typename Acc>
void BackwardRow(int64_t cols, const float* dy, const float* x, const float* gamma, double mean,
                 double rstd, float* dx, Acc* dgamma_acc, Acc* dbeta_acc) {
  double sum_g = 0, sum_gx = 0;
  for (int64_t i = 0; i < cols; ++i) {
    const double xhat = (x[i] - mean) * rstd;
    const double g = static_cast<double>(gamma[i]) * dy[i];
    sum_g += g;
    sum_gx += g * xhat;
  }
  const double mean_g = sum_g / static_cast<double>(cols);
  const double mean_gx = sum_gx / static_cast<double>(cols);
  for (int64_t i = 0; i < cols; ++i) {
    const double d = dy[i];
    const double xhat = (x[i] - mean) * rstd;
    if (dgamma_acc) {
      dgamma_acc[i] += static_cast<Acc>(d * xhat);
      dbeta_acc[i] += static_cast<Acc>(d);
    }
    dx[i] = static_cast<float>(rstd * (gamma[i] * d - mean_g - xhat * mean_gx));
  }
}

}  // namespace

namespace ref {

void LayerNormForwardRow(int64_t cols, const float* x, const float* gamma, const float* beta,
                         float eps, float* y, float* mean, float* rstd) {
  double mu, rs;
  RowStats(cols, x, eps, &mu, &rs);
  for (int64_t i = 0; i < cols; ++i) {
    y[i] = static_cast<float>(gamma[i] * ((x[i] - mu) * rs) + beta[i]);
  }
  *mean = static_cast<float>(mu);
  *rstd = static_cast<float>(rs);
}

void LayerNormBackwardRow(int64_t cols, const float* dy, const float* x, const float* gamma,
                          float mean, float rstd, float* dx, float* dgamma_acc, float* dbeta_acc) {
  BackwardRow<float>(cols, dy, x, gamma, mean, rstd, dx, dgamma_acc, dbeta_acc);
}

}  // namespace ref

Status LayerNormReference(const LayerNormParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckLayerNormParams(p));
  for (int64_t r = 0; r < p.rows; ++r) {
    float mean, rstd;
    ref::LayerNormForwardRow(p.cols, p.x + r * p.cols, p.gamma, p.beta, p.eps, p.y + r * p.cols,
                             &mean, &rstd);
    if (p.mean) p.mean[r] = mean;
    if (p.rstd) p.rstd[r] = rstd;
  }
  return Status::Ok();
}

Status LayerNormBackwardReference(const LayerNormBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckLayerNormBackwardParams(p));
  const bool params = p.dgamma != nullptr;
  std::vector<double> dgamma(params ? p.cols : 0, 0.0), dbeta(params ? p.cols : 0, 0.0);
  for (int64_t r = 0; r < p.rows; ++r) {
    const int64_t o = r * p.cols;
    BackwardRow<double>(p.cols, p.dy + o, p.x + o, p.gamma, p.mean[r], p.rstd[r], p.dx + o,
                        params ? dgamma.data() : nullptr, params ? dbeta.data() : nullptr);
  }
  for (int64_t i = 0; params && i < p.cols; ++i) {
    p.dgamma[i] = static_cast<float>(dgamma[i]);
    p.dbeta[i] = static_cast<float>(dbeta[i]);
  }
  return Status::Ok();
}

}  // namespace frugal
