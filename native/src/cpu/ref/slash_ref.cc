// Scalar level of the slash family's dispatch table, and the double-precision
// references the tests hold every backend to (W_l from the scalar stream
// reference, whole matrices at a time, no tiling, no GEMM).
#include <cmath>
#include <string>
#include <vector>

#include "cpu/slash_kernels.h"
#include "frugal/random.h"
#include "frugal/slash.h"

namespace frugal {

namespace ref {

void SlashAccumulateRows(const float* z, int64_t R, const float* rows, int64_t ld, int64_t n, float* acc) {
  for (int64_t j = 0; j < n; ++j) {
    float s = acc[j];
    for (int64_t r = 0; r < R; ++r) s = std::fma(z[r], rows[r * ld + j], s);
    acc[j] = s;
  }
}

void SlashDotRows(const float* g, int64_t ldg, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                  float* out, int64_t ldo) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t r = 0; r < R; ++r) {
      float s = 0;
      for (int64_t j = 0; j < n; ++j) s = std::fma(g[b * ldg + j], w[r * ldw + j], s);
      out[b * ldo + r] += s;
    }
  }
}

void SlashDotRowsBySample(const float* gt, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                          float* out, int64_t ldo) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t r = 0; r < R; ++r) {
      float s = 0;
      for (int64_t j = 0; j < n; ++j) s = std::fma(gt[j * B + b], w[r * ldw + j], s);
      out[b * ldo + r] += s;
    }
  }
}

void SlashUnnormalizeRow(int64_t n, const float* y, const float* beta, const float* inv_gamma, float mean,
                         float inv_rstd, float* pre) {
  for (int64_t j = 0; j < n; ++j) pre[j] = std::fma((y[j] - beta[j]) * inv_gamma[j], inv_rstd, mean);
}

}  // namespace ref

namespace {

// W_l [dim, hidden] as the stream contract defines it.
std::vector<float> ProjectionMatrix(const ProjectionParams& p, int64_t l) {
  std::vector<float> w(static_cast<size_t>(p.dim * p.hidden));
  const StreamId id{p.seed, static_cast<uint32_t>(l), kTagProjection};
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.dim)));
  if (p.dist == ProjectionDist::kNormal) {
    RandomNormalReference(id, 0, p.dim * p.hidden, scale, w.data());
  } else {
    RandomRademacherReference(id, 0, p.dim * p.hidden, scale, w.data());
  }
  return w;
}

// pre = a·Woᵀ + c + h + shift in double, with its row statistics.
struct Pre {
  std::vector<double> pre, mean, rstd;
};

Pre ComputePre(const OutputBlockParams& p) {
  const int64_t N = p.rows, F = p.in, H = p.hidden;
  Pre out;
  out.pre.resize(static_cast<size_t>(N * H));
  out.mean.resize(static_cast<size_t>(N));
  out.rstd.resize(static_cast<size_t>(N));
  for (int64_t r = 0; r < N; ++r) {
    double sum = 0;
    for (int64_t j = 0; j < H; ++j) {
      double v = static_cast<double>(p.c[j]) + p.h[r * H + j] + (p.shift ? p.shift[j] : 0.0);
      for (int64_t k = 0; k < F; ++k) v += static_cast<double>(p.a[r * F + k]) * p.Wo[j * F + k];
      out.pre[r * H + j] = v;
      sum += v;
    }
    const double mu = sum / H;
    double var = 0;
    for (int64_t j = 0; j < H; ++j) var += (out.pre[r * H + j] - mu) * (out.pre[r * H + j] - mu);
    out.mean[r] = mu;
    out.rstd[r] = 1.0 / std::sqrt(var / H + p.eps);
  }
  return out;
}

}  // namespace

Status SlashProjectReference(const ProjectionParams& p, const float* z, float* shifts) {
  FRUGAL_RETURN_IF_ERROR(CheckProjectionParams(p));
  for (int64_t l = 0; l < p.layers; ++l) {
    const std::vector<float> w = ProjectionMatrix(p, l);
    for (int64_t j = 0; j < p.hidden; ++j) {
      double s = 0;
      for (int64_t i = 0; i < p.dim; ++i) s += static_cast<double>(z[i]) * w[i * p.hidden + j];
      shifts[l * p.hidden + j] = static_cast<float>(s);
    }
  }
  return Status::Ok();
}

Status SlashProjectBackwardReference(const ProjectionParams& p, int64_t batch, const float* g, float* dz) {
  FRUGAL_RETURN_IF_ERROR(CheckProjectionParams(p));
  if (batch < 0) return Status::Shape("slash.projectBackward: batch must be >= 0, got " + std::to_string(batch));
  std::vector<double> acc(static_cast<size_t>(batch * p.dim), 0.0);
  for (int64_t l = 0; l < p.layers; ++l) {
    const std::vector<float> w = ProjectionMatrix(p, l);
    for (int64_t b = 0; b < batch; ++b) {
      const float* gl = g + (b * p.layers + l) * p.hidden;
      for (int64_t i = 0; i < p.dim; ++i) {
        double s = 0;
        for (int64_t j = 0; j < p.hidden; ++j) s += static_cast<double>(gl[j]) * w[i * p.hidden + j];
        acc[b * p.dim + i] += s;
      }
    }
  }
  for (size_t k = 0; k < acc.size(); ++k) dz[k] = static_cast<float>(acc[k]);
  return Status::Ok();
}

Status SlashOutputBlockReference(const OutputBlockParams& p, float* y, float* mean, float* rstd) {
  FRUGAL_RETURN_IF_ERROR(CheckOutputBlockParams(p));
  const Pre s = ComputePre(p);
  const int64_t H = p.hidden;
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t j = 0; j < H; ++j) {
      y[r * H + j] = static_cast<float>(p.gamma[j] * (s.pre[r * H + j] - s.mean[r]) * s.rstd[r] + p.beta[j]);
    }
    if (mean) mean[r] = static_cast<float>(s.mean[r]);
    if (rstd) rstd[r] = static_cast<float>(s.rstd[r]);
  }
  return Status::Ok();
}

Status SlashOutputBlockBackwardReference(const OutputBlockParams& p, const float* dy, const OutputBlockGrads& g) {
  FRUGAL_RETURN_IF_ERROR(CheckOutputBlockParams(p));
  const int64_t N = p.rows, F = p.in, H = p.hidden;
  const int64_t T = g.tokensPerSample;
  if (g.dshiftPerSample && (T <= 0 || N % T != 0)) {
    return Status::Shape("slash.outputBlockBackward: tokensPerSample must divide rows");
  }
  const Pre s = ComputePre(p);
  std::vector<double> dpre(static_cast<size_t>(N * H));
  std::vector<double> dgamma(H, 0.0), dbeta(H, 0.0), dcol(H, 0.0);
  for (int64_t r = 0; r < N; ++r) {
    double mg = 0, mgx = 0;
    for (int64_t j = 0; j < H; ++j) {
      const double xh = (s.pre[r * H + j] - s.mean[r]) * s.rstd[r];
      const double gj = static_cast<double>(p.gamma[j]) * dy[r * H + j];
      mg += gj;
      mgx += gj * xh;
      dgamma[j] += dy[r * H + j] * xh;
      dbeta[j] += dy[r * H + j];
    }
    mg /= H;
    mgx /= H;
    for (int64_t j = 0; j < H; ++j) {
      const double xh = (s.pre[r * H + j] - s.mean[r]) * s.rstd[r];
      const double gj = static_cast<double>(p.gamma[j]) * dy[r * H + j];
      dpre[r * H + j] = s.rstd[r] * (gj - mg - xh * mgx);
      dcol[j] += dpre[r * H + j];
    }
  }
  for (int64_t k = 0; k < N * H; ++k) g.dh[k] = static_cast<float>(dpre[k]);
  for (int64_t j = 0; j < H; ++j) {
    if (g.dc) g.dc[j] = static_cast<float>(dcol[j]);
    if (g.dshift) g.dshift[j] = static_cast<float>(dcol[j]);
    if (g.dgamma) g.dgamma[j] = static_cast<float>(dgamma[j]);
    if (g.dbeta) g.dbeta[j] = static_cast<float>(dbeta[j]);
  }
  if (g.dshiftPerSample) {
    for (int64_t b = 0; b < N / T; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        double v = 0;
        for (int64_t t = 0; t < T; ++t) v += dpre[(b * T + t) * H + j];
        g.dshiftPerSample[b * H + j] = static_cast<float>(v);
      }
    }
  }
  if (g.da) {
    for (int64_t r = 0; r < N; ++r) {
      for (int64_t k = 0; k < F; ++k) {
        double v = 0;
        for (int64_t j = 0; j < H; ++j) v += dpre[r * H + j] * p.Wo[j * F + k];
        g.da[r * F + k] = static_cast<float>(v);
      }
    }
  }
  if (g.dWo) {
    for (int64_t j = 0; j < H; ++j) {
      for (int64_t k = 0; k < F; ++k) {
        double v = 0;
        for (int64_t r = 0; r < N; ++r) v += dpre[r * H + j] * p.a[r * F + k];
        g.dWo[j * F + k] = static_cast<float>(v);
      }
    }
  }
  return Status::Ok();
}

}  // namespace frugal
