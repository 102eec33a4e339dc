// Scalar references of the dp family: the oracles of the tests (double accumulation,
// one sample at a time, no GEMM), plus the scalar level of the dispatch table.
#include <cmath>
#include <vector>

#include "cpu/dp_kernels.h"
#include "cpu/primitives/vector.h"
#include "frugal/dp.h"

namespace frugal {

namespace ref {

double DpGramNorm(const float* A, const float* G, int64_t T, int64_t din, int64_t dout) {
  // Pairs t ≥ s only; the mirrored pair (t, s) has the same product.
  double sum = 0;
  for (int64_t s = 0; s < T; ++s) {
    for (int64_t t = s; t < T; ++t) {
      const double w = s == t ? 1.0 : 2.0;
      sum += w * Dot(A + s * din, A + t * din, din) * Dot(G + s * dout, G + t * dout, dout);
    }
  }
  return sum;
}

}  // namespace ref

float ClipFactor(float norm, float C, ClipRule rule) {
  if (rule == ClipRule::kAutomatic) return C / (norm + 0.01f);
  return std::fmin(1.0f, C / (norm + 1e-6f));
}

namespace {

// ‖Σ_t g_it‖² of sample i.
double BiasNormSq(const LinearGradParams& p, int64_t i) {
  double sq = 0;
  for (int64_t d = 0; d < p.dout; ++d) {
    double s = 0;
    for (int64_t t = 0; t < p.T; ++t) s += p.G[(i * p.T + t) * p.dout + d];
    sq += s * s;
  }
  return sq;
}

// ⟨AᵢAᵢᵀ, GᵢGᵢᵀ⟩ with both Grams in double.
double GramNormSq(const LinearGradParams& p, int64_t i) {
  const float* a = p.A + i * p.T * p.din;
  const float* g = p.G + i * p.T * p.dout;
  double sq = 0;
  for (int64_t s = 0; s < p.T; ++s) {
    for (int64_t t = 0; t < p.T; ++t) {
      double aa = 0, gg = 0;
      for (int64_t k = 0; k < p.din; ++k) aa += static_cast<double>(a[s * p.din + k]) * a[t * p.din + k];
      for (int64_t k = 0; k < p.dout; ++k) gg += static_cast<double>(g[s * p.dout + k]) * g[t * p.dout + k];
      sq += aa * gg;
    }
  }
  return sq;
}

// ‖GᵢᵀAᵢ‖²_F from the gradient itself, one entry at a time.
double MaterializedNormSq(const LinearGradParams& p, int64_t i) {
  const float* a = p.A + i * p.T * p.din;
  const float* g = p.G + i * p.T * p.dout;
  double sq = 0;
  for (int64_t d = 0; d < p.dout; ++d) {
    for (int64_t k = 0; k < p.din; ++k) {
      double w = 0;
      for (int64_t t = 0; t < p.T; ++t) w += static_cast<double>(g[t * p.dout + d]) * a[t * p.din + k];
      sq += w * w;
    }
  }
  return sq;
}

}  // namespace

Status LinearGradNormsReference(const LinearGradParams& p, NormMethod method, float* weightSq, float* biasSq) {
  if (method == NormMethod::kAuto) method = ChooseNormMethod(p.T, p.din, p.dout);
  for (int64_t i = 0; i < p.B; ++i) {
    weightSq[i] = static_cast<float>(method == NormMethod::kGram ? GramNormSq(p, i) : MaterializedNormSq(p, i));
    if (biasSq) biasSq[i] = static_cast<float>(BiasNormSq(p, i));
  }
  return Status::Ok();
}

Status ClippedLinearGradReference(const LinearGradParams& p, const float* factors, float* weight, float* bias) {
  for (int64_t d = 0; d < p.dout; ++d) {
    for (int64_t k = 0; k < p.din; ++k) {
      double w = 0;
      for (int64_t i = 0; i < p.B; ++i) {
        double wi = 0;
        for (int64_t t = 0; t < p.T; ++t) {
          wi += static_cast<double>(p.G[(i * p.T + t) * p.dout + d]) * p.A[(i * p.T + t) * p.din + k];
        }
        w += factors[i] * wi;
      }
      weight[d * p.din + k] = static_cast<float>(w);
    }
    if (bias) {
      double b = 0;
      for (int64_t i = 0; i < p.B; ++i) {
        double bi = 0;
        for (int64_t t = 0; t < p.T; ++t) bi += p.G[(i * p.T + t) * p.dout + d];
        b += factors[i] * bi;
      }
      bias[d] = static_cast<float>(b);
    }
  }
  return Status::Ok();
}

Status ClipRowsReference(const float* rows, int64_t B, int64_t p, float C, ClipRule rule, float* sum,
                         float* factors) {
  std::vector<double> acc(static_cast<size_t>(p), 0.0);
  for (int64_t i = 0; i < B; ++i) {
    double sq = 0;
    for (int64_t j = 0; j < p; ++j) sq += static_cast<double>(rows[i * p + j]) * rows[i * p + j];
    const float c = ClipFactor(static_cast<float>(std::sqrt(sq)), C, rule);
    factors[i] = c;
    for (int64_t j = 0; j < p; ++j) acc[j] += static_cast<double>(c) * rows[i * p + j];
  }
  for (int64_t j = 0; j < p; ++j) sum[j] = static_cast<float>(acc[j]);
  return Status::Ok();
}

Status AddNoiseReference(float* t, int64_t n, float std, StreamId id, uint64_t offset, bool secure) {
  const int64_t per = secure ? 4 : 1;
  std::vector<float> z(static_cast<size_t>(n * per));
  RandomNormalReference(id, offset * per, n * per, 1.0f, z.data());
  for (int64_t e = 0; e < n; ++e) {
    const float draw = secure ? 0.5f * ((z[4 * e] + z[4 * e + 1]) + (z[4 * e + 2] + z[4 * e + 3])) : z[e];
    t[e] = std::fma(std, draw, t[e]);
  }
  return Status::Ok();
}

}  // namespace frugal
