// GradDrop's scalar level and its oracles. The oracles recompute everything
// from the contract (one Philox block per unit, "uniform < p" in double, sums
// in double) and share no code with the fast paths or the front end's unit plan.
#include <cmath>

#include "cpu/graddrop_kernels.h"
#include "frugal/graddrop.h"
#include "frugal/random.h"

namespace frugal {

namespace ref {

void UnitMultipliers(const MaskDraw& d, uint64_t u0, int64_t n, float* out) {
  const uint32_t key[2] = {static_cast<uint32_t>(d.id.seed), static_cast<uint32_t>(d.id.seed >> 32)};
  for (int64_t k = 0; k < n; ++k) {
    const uint64_t u = u0 + static_cast<uint64_t>(k);
    const uint32_t counter[4] = {static_cast<uint32_t>(u >> 2), d.step, d.id.sub, d.id.tag};
    uint32_t w[4];
    Philox4x32(counter, key, w);
    out[k] = static_cast<float>(w[u & 3] >> 8) < d.threshold ? 0.0f : d.scale;
  }
}

void MultiplyKept(float* x, const float* m, int64_t n) {
  for (int64_t k = 0; k < n; ++k) x[k] = m[k] > 0.0f ? x[k] * m[k] : 0.0f;
}

}  // namespace ref

namespace {

// The oracle's unit of element (i, j).
uint64_t OracleUnit(const GradMask& m, int64_t i, int64_t j) {
  switch (m.granularity) {
    case MaskGranularity::kElement: return static_cast<uint64_t>(i * m.cols + j);
    case MaskGranularity::kRow: return static_cast<uint64_t>(i);
    case MaskGranularity::kColumn: return static_cast<uint64_t>(j);
    case MaskGranularity::kBlock: {
      const int64_t block_cols = (m.cols + m.blockCols - 1) / m.blockCols;
      return static_cast<uint64_t>((i / m.blockRows) * block_cols + j / m.blockCols);
    }
    case MaskGranularity::kTensor: break;
  }
  return 0;
}

// The contract's multiplier of element (i, j), in double.
double OracleMultiplier(const GradMask& m, int64_t i, int64_t j) {
  const uint64_t u = OracleUnit(m, i, j);
  const uint32_t counter[4] = {static_cast<uint32_t>(u / 4), m.step, m.layer, kTagGradientMask};
  const uint32_t key[2] = {static_cast<uint32_t>(m.seed), static_cast<uint32_t>(m.seed >> 32)};
  uint32_t w[4];
  Philox4x32(counter, key, w);
  const double uniform = std::ldexp(static_cast<double>(w[u % 4] >> 8), -24);
  if (uniform < m.p) return 0.0;
  return m.rescale && m.p < 1.0 ? 1.0 / (1.0 - m.p) : 1.0;
}

}  // namespace

Status GradDropMaskReference(const GradMask& m, float* out) {
  FRUGAL_RETURN_IF_ERROR(ValidateGradMask("graddrop.mask", m));
  for (int64_t i = 0; i < m.rows; ++i) {
    for (int64_t j = 0; j < m.cols; ++j) out[i * m.cols + j] = static_cast<float>(OracleMultiplier(m, i, j));
  }
  return Status::Ok();
}

Status GradDropApplyReference(const GradMask& m, float* grad) {
  FRUGAL_RETURN_IF_ERROR(ValidateGradMask("graddrop.apply", m));
  for (int64_t i = 0; i < m.rows; ++i) {
    for (int64_t j = 0; j < m.cols; ++j) {
      const double mult = OracleMultiplier(m, i, j);
      float& g = grad[i * m.cols + j];
      g = mult == 0.0 ? 0.0f : static_cast<float>(static_cast<float>(mult) * g);
    }
  }
  return Status::Ok();
}

Status GradDropLinearGradReference(const MaskedLinearGradParams& p) {
  FRUGAL_RETURN_IF_ERROR(ValidateGradMask("graddrop.linearGrad", p.mask));
  const bool bias_follows_rows =
      p.mask.granularity == MaskGranularity::kRow || p.mask.granularity == MaskGranularity::kTensor;
  for (int64_t i = 0; i < p.dout; ++i) {
    for (int64_t j = 0; j < p.din; ++j) {
      const double mult = OracleMultiplier(p.mask, i, j);
      double acc = 0.0;
      if (mult != 0.0) {
        for (int64_t t = 0; t < p.tokens; ++t) acc += static_cast<double>(p.G[t * p.dout + i]) * p.A[t * p.din + j];
      }
      float& w = p.weight[i * p.din + j];
      const double old = p.beta != 0.0f ? static_cast<double>(p.beta) * w : 0.0;
      w = static_cast<float>(old + static_cast<float>(mult) * acc);
    }
    if (p.bias) {
      const double mult = bias_follows_rows ? OracleMultiplier(p.mask, i, 0) : 1.0;
      double sum = 0.0;
      if (mult != 0.0) {
        for (int64_t t = 0; t < p.tokens; ++t) sum += p.G[t * p.dout + i];
      }
      const double old = p.beta != 0.0f ? static_cast<double>(p.beta) * p.bias[i] : 0.0;
      p.bias[i] = static_cast<float>(old + static_cast<float>(mult) * sum);
    }
  }
  return Status::Ok();
}

}  // namespace frugal
