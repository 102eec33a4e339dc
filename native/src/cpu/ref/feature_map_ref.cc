// Feature maps, scalar: the reference level of the kernel table (plain loops,
// no padding buffers) and the double-precision oracles of the tests, which
// follow the formulas of frugal/feature_map.h element by element.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/feature_map_kernels.h"
#include "cpu/ref/gelu_scalar.h"
#include "frugal/feature_map.h"

namespace frugal {
namespace {

// The first maximum of a window in row-major order, NaN counting as the largest.
bool Beats(float v, float best) { return v > best || (std::isnan(v) && !std::isnan(best)); }

// Index into the window of the first maximum: 0..3 for (0,0), (0,1), (1,0), (1,1).
int WindowArgMax(const float* x, int64_t w) {
  const float v[4] = {x[0], x[1], x[w], x[w + 1]};
  int best = 0;
  for (int k = 1; k < 4; ++k) {
    if (Beats(v[k], v[best])) best = k;
  }
  return best;
}

}  // namespace

namespace ref {

void ChannelNormKernel(const ChannelNormPixels& p) {
  const int64_t cg = p.channels / p.groups;
  for (int64_t k = 0; k < p.groups; ++k) {
    const float* x = p.x + k * cg * p.hw;
    float* y = p.y + k * cg * p.hw;
    const float *gamma = p.gamma + k * cg, *beta = p.beta + k * cg;
    for (int64_t j = 0; j < p.n; ++j) {
      double sum = 0, ss = 0;
      for (int64_t c = 0; c < cg; ++c) sum += x[c * p.hw + j];
      const double mu = sum / static_cast<double>(cg);
      for (int64_t c = 0; c < cg; ++c) ss += (x[c * p.hw + j] - mu) * (x[c * p.hw + j] - mu);
      const double rs = 1.0 / std::sqrt(ss / static_cast<double>(cg) + p.eps);
      for (int64_t c = 0; c < cg; ++c) {
        y[c * p.hw + j] = static_cast<float>(gamma[c] * ((x[c * p.hw + j] - mu) * rs) + beta[c]);
      }
      if (p.mean) p.mean[k * p.hw + j] = static_cast<float>(mu);
      if (p.rstd) p.rstd[k * p.hw + j] = static_cast<float>(rs);
    }
  }
}

void ChannelNormBackwardKernel(const ChannelNormBackwardPixels& p) {
  const int64_t cg = p.channels / p.groups;
  for (int64_t k = 0; k < p.groups; ++k) {
    const int64_t at = k * cg * p.hw;
    const float *dy = p.dy + at, *x = p.x + at, *gamma = p.gamma + k * cg;
    float* dx = p.dx + at;
    float* ag = p.dgamma_acc ? p.dgamma_acc + k * cg * kAccLanes : nullptr;
    float* ab = p.dbeta_acc ? p.dbeta_acc + k * cg * kAccLanes : nullptr;
    for (int64_t j = 0; j < p.n; ++j) {
      const double mu = p.mean[k * p.hw + j], rs = p.rstd[k * p.hw + j];
      double sg = 0, sgx = 0;
      for (int64_t c = 0; c < cg; ++c) {
        const double g = static_cast<double>(gamma[c]) * dy[c * p.hw + j];
        sg += g;
        sgx += g * (x[c * p.hw + j] - mu) * rs;
      }
      const double mg = sg / static_cast<double>(cg), mgx = sgx / static_cast<double>(cg);
      for (int64_t c = 0; c < cg; ++c) {
        const double d = dy[c * p.hw + j], xhat = (x[c * p.hw + j] - mu) * rs;
        if (ag) {
          ag[c * kAccLanes] += static_cast<float>(d * xhat);
          ab[c * kAccLanes] += static_cast<float>(d);
        }
        dx[c * p.hw + j] = static_cast<float>(rs * (gamma[c] * d - mg - xhat * mgx));
      }
    }
  }
}

void SumsKernel(int64_t n, const float* a, float shift_a, const float* b, float shift_b, double* sum_a,
                double* sum_ab) {
  double s = 0, q = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float u = a[i] - shift_a;
    s += u;
    if (b) q += static_cast<double>(u * (b[i] - shift_b));
  }
  *sum_a += s;
  if (b) *sum_ab += q;
}

void AffineKernel(int64_t n, const float* x, float m, float a, float c, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i] - m, a, c);
}

void Affine2Kernel(int64_t n, const float* dy, const float* x, float a, float m, float b, float c, float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = std::fma(a, dy[i], std::fma(b, x[i] - m, c));
}

void MulKernel(int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

void MulAccKernel(int64_t n, const float* a, const float* b, float* acc) {
  for (int64_t i = 0; i < n; ++i) acc[i] = std::fma(a[i], b[i], acc[i]);
}

void GeluGradKernel(int64_t n, const float* dy, const float* pre, float* dpre) {
  for (int64_t i = 0; i < n; ++i) dpre[i] = static_cast<float>(dy[i] * GeluGradScalar(pre[i]));
}

namespace {

// out[r, s] of geometry g over a dense input plane (zero outside), float sums.
float PlaneConvAt(const PlaneConv& g, const float* in, int64_t r, int64_t s) {
  float acc = 0;
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t t = r - g.pad_h + i * g.dil_h;
    if (t < 0 || t >= g.in_h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t u = s - g.pad_w + j * g.dil_w;
      if (u < 0 || u >= g.in_w) continue;
      const float w = g.flip ? g.w[(g.kh - i) * g.kw - 1 - j] : g.w[i * g.kw + j];
      acc = std::fma(w, in[t * g.in_w + u], acc);
    }
  }
  return acc;
}

}  // namespace

void DepthwiseKernel(const DepthwiseForwardPlane& p, float*) {
  for (int64_t r = 0; r < p.g.out_h; ++r) {
    for (int64_t s = 0; s < p.g.out_w; ++s) {
      const int64_t o = r * p.g.out_w + s;
      const float pre = p.bias + PlaneConvAt(p.g, p.x, r, s);
      if (p.pre) p.pre[o] = pre;
      p.y[o] = p.gelu ? static_cast<float>(GeluScalar(pre)) : pre;
    }
  }
}

void DepthwiseBackwardKernel(const DepthwiseBackwardPlane& p, float* scratch) {
  const PlaneConv& g = p.g;
  const int64_t n = g.out_h * g.out_w;
  float* dpre = scratch;  // dense out_h × out_w
  if (p.gelu) {
    GeluGradKernel(n, p.dy, p.pre, dpre);
  } else {
    std::copy(p.dy, p.dy + n, dpre);
  }
  const PlaneConv t = TransposedConv(g);
  for (int64_t r = 0; p.dx && r < t.out_h; ++r) {
    for (int64_t s = 0; s < t.out_w; ++s) p.dx[r * t.out_w + s] = PlaneConvAt(t, dpre, r, s);
  }
  for (int64_t r = 0; r < g.out_h; ++r) {
    for (int64_t s = 0; s < g.out_w; ++s) {
      const float d = dpre[r * g.out_w + s];
      if (p.dbias) *p.dbias += d;
      for (int64_t i = 0; p.dw && i < g.kh; ++i) {
        const int64_t row = r - g.pad_h + i * g.dil_h;
        if (row < 0 || row >= g.in_h) continue;
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t col = s - g.pad_w + j * g.dil_w;
          if (col >= 0 && col < g.in_w) p.dw[i * g.kw + j] += static_cast<double>(d * p.x[row * g.in_w + col]);
        }
      }
    }
  }
}

void PointwiseKernel(const PointwiseBlock& p) {
  for (int64_t o = 0; o < p.out_channels; ++o) {
    for (int64_t j = 0; j < p.n; ++j) {
      float acc = p.bias ? p.bias[o] : 0.0f;
      for (int64_t i = 0; i < p.in_channels; ++i) acc = std::fma(p.w[o * p.in_channels + i], p.x[i * p.hw + j], acc);
      if (p.pre) p.pre[o * p.hw + j] = acc;
      p.y[o * p.hw + j] = p.gelu ? static_cast<float>(GeluScalar(acc)) : acc;
    }
  }
}

void PointwiseGradKernel(const PointwiseGradBlock& p) {
  for (int64_t o = 0; o < p.out_channels; ++o) {
    const float* d = p.dpre + o * p.hw;
    for (int64_t i = 0; p.dw && i < p.in_channels; ++i) {
      float acc = 0;
      for (int64_t j = 0; j < p.n; ++j) acc = std::fma(d[j], p.x[i * p.hw + j], acc);
      p.dw[o * p.in_channels + i] = acc;
    }
    if (!p.db) continue;
    float acc = 0;
    for (int64_t j = 0; j < p.n; ++j) acc += d[j];
    p.db[o] = acc;
  }
}

namespace {

// Σ_{c,i,j} w(c, i, j) · x[c, r − pad + i, s − pad + j] of one output of a dense
// conv block, zero outside x.
template <class W>
float DenseConvAt(const DenseConvRows& d, const W& w, int64_t r, int64_t s) {
  float acc = 0;
  for (int64_t c = 0; c < d.in_channels; ++c) {
    for (int64_t i = 0; i < d.k; ++i) {
      const int64_t t = r - d.pad + i;
      if (t < 0 || t >= d.in_h) continue;
      for (int64_t j = 0; j < d.k; ++j) {
        const int64_t u = s - d.pad + j;
        if (u >= 0 && u < d.in_w) acc = std::fma(w(c, i * d.k + j), d.x[(c * d.in_h + t) * d.in_w + u], acc);
      }
    }
  }
  return acc;
}

}  // namespace

void DenseConvKernel(const DenseConvRows& d, float*) {
  const int64_t kk = d.k * d.k, ohw = d.out_h * d.out_w;
  for (int64_t o = 0; o < d.out_channels; ++o) {
    const float* wq = d.w + (o / kConvQuad) * d.in_channels * kk * kConvQuad + o % kConvQuad;
    const auto w = [&](int64_t c, int64_t t) { return wq[(c * kk + t) * kConvQuad]; };
    for (int64_t r = d.r0; r < d.r0 + d.rows; ++r) {
      for (int64_t s = 0; s < d.out_w; ++s) {
        const int64_t at = o * ohw + r * d.out_w + s;
        const float pre = (d.bias ? d.bias[o] : 0.0f) + DenseConvAt(d, w, r, s);
        if (d.pre) d.pre[at] = pre;
        d.y[at] = d.gelu ? static_cast<float>(GeluScalar(pre)) : pre;
      }
    }
  }
}

void DenseConvGradKernel(const DenseConvGradRows& p, float*) {
  const DenseConvRows& d = p.g;
  const int64_t kk = d.k * d.k, ohw = d.out_h * d.out_w;
  for (int64_t o = 0; o < d.out_channels; ++o) {
    const float* dp = p.dpre + o * ohw;
    if (p.db) {
      float sum = 0;
      for (int64_t r = d.r0; r < d.r0 + d.rows; ++r) {
        for (int64_t s = 0; s < d.out_w; ++s) sum += dp[r * d.out_w + s];
      }
      p.db[o] = sum;
    }
    for (int64_t c = 0; p.dw && c < d.in_channels; ++c) {
      for (int64_t t = 0; t < kk; ++t) {
        const int64_t i = t / d.k, j = t % d.k;
        float sum = 0;
        for (int64_t r = d.r0; r < d.r0 + d.rows; ++r) {
          const int64_t row = r - d.pad + i;
          if (row < 0 || row >= d.in_h) continue;
          for (int64_t s = 0; s < d.out_w; ++s) {
            const int64_t col = s - d.pad + j;
            if (col >= 0 && col < d.in_w) sum = std::fma(dp[r * d.out_w + s], d.x[(c * d.in_h + row) * d.in_w + col], sum);
          }
        }
        p.dw[(o * d.in_channels + c) * kk + t] = sum;
      }
    }
  }
}

void MaxPoolKernel(int64_t in_h, int64_t in_w, const float* x, float* y) {
  const int64_t oh = in_h / 2, ow = in_w / 2;
  for (int64_t r = 0; r < oh; ++r) {
    for (int64_t s = 0; s < ow; ++s) {
      const float* win = x + 2 * r * in_w + 2 * s;
      const int k = WindowArgMax(win, in_w);
      y[r * ow + s] = win[(k >> 1) * in_w + (k & 1)];
    }
  }
}

void MaxPoolBackwardKernel(int64_t in_h, int64_t in_w, const float* dy, const float* x, float* dx) {
  const int64_t oh = in_h / 2, ow = in_w / 2;
  std::fill(dx, dx + in_h * in_w, 0.0f);
  for (int64_t r = 0; r < oh; ++r) {
    for (int64_t s = 0; s < ow; ++s) {
      const int64_t at = 2 * r * in_w + 2 * s;
      const int k = WindowArgMax(x + at, in_w);
      dx[at + (k >> 1) * in_w + (k & 1)] = dy[r * ow + s];
    }
  }
}

// Rows first: the two input rows of output row i blended into `row`, then the
// columns sampled from it.
void ResizeKernel(const ResizePlane& r, const float* x, float* y, float* row) {
  for (int64_t i = 0; i < r.out_h; ++i) {
    const float* x0 = x + r.rows.index[i] * r.in_w;
    const float* x1 = x0 + r.rows.step[i] * r.in_w;
    const float ly = r.rows.lambda[i];
    for (int64_t t = 0; t < r.in_w; ++t) row[t] = (1.0f - ly) * x0[t] + ly * x1[t];
    for (int64_t j = 0; j < r.out_w; ++j) {
      const int32_t c = r.cols.index[j];
      const float lx = r.cols.lambda[j];
      y[i * r.out_w + j] = (1.0f - lx) * row[c] + lx * row[c + r.cols.step[j]];
    }
  }
}

// The adjoint of ResizeKernel in its reverse order: each dy row scattered along
// the columns into `row`, then into its two input rows.
void ResizeBackwardKernel(const ResizePlane& r, const float* dy, float* dx, float* row) {
  std::fill(dx, dx + r.in_h * r.in_w, 0.0f);
  for (int64_t i = 0; i < r.out_h; ++i) {
    std::fill(row, row + r.in_w, 0.0f);
    for (int64_t j = 0; j < r.out_w; ++j) {
      const int32_t c = r.cols.index[j];
      const float lx = r.cols.lambda[j], d = dy[i * r.out_w + j];
      row[c] += (1.0f - lx) * d;
      row[c + r.cols.step[j]] += lx * d;
    }
    float* d0 = dx + r.rows.index[i] * r.in_w;
    float* d1 = d0 + r.rows.step[i] * r.in_w;
    const float ly = r.rows.lambda[i];
    for (int64_t t = 0; t < r.in_w; ++t) d0[t] += (1.0f - ly) * row[t];
    for (int64_t t = 0; t < r.in_w; ++t) d1[t] += ly * row[t];
  }
}

}  // namespace ref

// ---- the double oracles ---------------------------------------------------------------
Status ChannelNormReference(const ChannelNormParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  if (MapEmpty(s)) return Status::Ok();
  const int64_t hw = s.H * s.W, dense = s.C * hw, G = p.groups, cg = s.C / G;
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t k = 0; k < G; ++k) {
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, dense) + k * cg * hw;
      float* y = p.y.data + b * MapStride(p.y.batch_stride, dense) + k * cg * hw;
      const float *gamma = p.gamma + k * cg, *beta = p.beta + k * cg;
      for (int64_t j = 0; j < hw; ++j) {
        double sum = 0, ss = 0;
        for (int64_t c = 0; c < cg; ++c) sum += x[c * hw + j];
        const double mu = sum / static_cast<double>(cg);
        for (int64_t c = 0; c < cg; ++c) ss += (x[c * hw + j] - mu) * (x[c * hw + j] - mu);
        const double rs = 1.0 / std::sqrt(ss / static_cast<double>(cg) + p.eps);
        for (int64_t c = 0; c < cg; ++c) y[c * hw + j] = static_cast<float>(gamma[c] * (x[c * hw + j] - mu) * rs + beta[c]);
        if (p.mean) p.mean[(b * G + k) * hw + j] = static_cast<float>(mu);
        if (p.rstd) p.rstd[(b * G + k) * hw + j] = static_cast<float>(rs);
      }
    }
  }
  return Status::Ok();
}

Status ChannelNormBackwardReference(const ChannelNormBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  std::vector<double> dg(static_cast<size_t>(s.C), 0.0), db(static_cast<size_t>(s.C), 0.0);
  const int64_t hw = s.H * s.W, dense = s.C * hw, G = p.groups, cg = MapEmpty(s) ? 0 : s.C / G;
  for (int64_t b = 0; !MapEmpty(s) && b < s.B; ++b) {
    for (int64_t k = 0; k < G; ++k) {
      const int64_t at = k * cg * hw;
      const float* dy = p.dy.data + b * MapStride(p.dy.batch_stride, dense) + at;
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, dense) + at;
      float* dx = p.dx.data + b * MapStride(p.dx.batch_stride, dense) + at;
      const float* gamma = p.gamma + k * cg;
      for (int64_t j = 0; j < hw; ++j) {
        const double mu = p.mean[(b * G + k) * hw + j], rs = p.rstd[(b * G + k) * hw + j];
        double sg = 0, sgx = 0;
        for (int64_t c = 0; c < cg; ++c) {
          sg += static_cast<double>(gamma[c]) * dy[c * hw + j];
          sgx += static_cast<double>(gamma[c]) * dy[c * hw + j] * (x[c * hw + j] - mu) * rs;
        }
        const double mg = sg / static_cast<double>(cg), mgx = sgx / static_cast<double>(cg);
        for (int64_t c = 0; c < cg; ++c) {
          const double d = dy[c * hw + j], xhat = (x[c * hw + j] - mu) * rs;
          dg[k * cg + c] += d * xhat;
          db[k * cg + c] += d;
          dx[c * hw + j] = static_cast<float>(rs * (gamma[c] * d - mg - xhat * mgx));
        }
      }
    }
  }
  for (int64_t c = 0; p.dgamma && c < s.C; ++c) {
    p.dgamma[c] = static_cast<float>(dg[c]);
    p.dbeta[c] = static_cast<float>(db[c]);
  }
  return Status::Ok();
}

Status GroupNormReference(const GroupNormParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  if (MapEmpty(s)) return Status::Ok();
  const int64_t hw = s.H * s.W, dense = s.C * hw, cg = s.C / p.groups, n = cg * hw;
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t g = 0; g < p.groups; ++g) {
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, dense) + g * n;
      float* y = p.y.data + b * MapStride(p.y.batch_stride, dense) + g * n;
      double sum = 0, ss = 0;
      for (int64_t i = 0; i < n; ++i) sum += x[i];
      const double mu = sum / static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) ss += (x[i] - mu) * (x[i] - mu);
      const double rs = 1.0 / std::sqrt(ss / static_cast<double>(n) + p.eps);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = g * cg + i / hw;
        y[i] = static_cast<float>(p.gamma[c] * (x[i] - mu) * rs + p.beta[c]);
      }
      if (p.mean) p.mean[b * p.groups + g] = static_cast<float>(mu);
      if (p.rstd) p.rstd[b * p.groups + g] = static_cast<float>(rs);
    }
  }
  return Status::Ok();
}

Status GroupNormBackwardReference(const GroupNormBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  std::vector<double> dg(static_cast<size_t>(s.C), 0.0), db(static_cast<size_t>(s.C), 0.0);
  const int64_t hw = s.H * s.W, dense = s.C * hw, cg = p.groups ? s.C / p.groups : 0, n = cg * hw;
  for (int64_t b = 0; !MapEmpty(s) && b < s.B; ++b) {
    for (int64_t g = 0; g < p.groups; ++g) {
      const int64_t at = g * n;
      const float* dy = p.dy.data + b * MapStride(p.dy.batch_stride, dense) + at;
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, dense) + at;
      float* dx = p.dx.data + b * MapStride(p.dx.batch_stride, dense) + at;
      const double mu = p.mean[b * p.groups + g], rs = p.rstd[b * p.groups + g];
      double sg = 0, sgx = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double gv = static_cast<double>(p.gamma[g * cg + i / hw]) * dy[i];
        sg += gv;
        sgx += gv * (x[i] - mu) * rs;
      }
      const double mg = sg / static_cast<double>(n), mgx = sgx / static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = g * cg + i / hw;
        const double d = dy[i], xhat = (x[i] - mu) * rs;
        dg[c] += d * xhat;
        db[c] += d;
        dx[i] = static_cast<float>(rs * (p.gamma[c] * d - mg - xhat * mgx));
      }
    }
  }
  for (int64_t c = 0; p.dgamma && c < s.C; ++c) {
    p.dgamma[c] = static_cast<float>(dg[c]);
    p.dbeta[c] = static_cast<float>(db[c]);
  }
  return Status::Ok();
}

namespace {

// The pre-activation of a 2-D conv, summing in double: one input channel plane
// (in_h × in_w) against one kernel (kh × kw), at output (r, s).
double ConvAt(const float* x, int64_t in_h, int64_t in_w, const float* w, int64_t kh, int64_t kw, int64_t dil_h,
              int64_t dil_w, int64_t pad_h, int64_t pad_w, int64_t r, int64_t s) {
  double acc = 0;
  for (int64_t i = 0; i < kh; ++i) {
    const int64_t t = r - pad_h + i * dil_h;
    for (int64_t j = 0; t >= 0 && t < in_h && j < kw; ++j) {
      const int64_t u = s - pad_w + j * dil_w;
      if (u >= 0 && u < in_w) acc += static_cast<double>(w[i * kw + j]) * x[t * in_w + u];
    }
  }
  return acc;
}

// Stores pre (when asked) and the output of one element.
void Emit(double pre, bool gelu, float* y, float* pre_out) {
  if (pre_out) *pre_out = static_cast<float>(pre);
  *y = static_cast<float>(gelu ? GeluScalar(pre) : pre);
}

// The gradient at the pre-activation, in double.
double PreGrad(float dy, bool gelu, const float* pre) { return gelu ? dy * GeluGradScalar(*pre) : dy; }

}  // namespace

Status DepthwiseConvReference(const DepthwiseConvParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  if (MapEmpty(s)) return Status::Ok();
  const int64_t oh = ConvOutputSize(s.H, p.kh, p.dil_h, p.pad_h), ow = ConvOutputSize(s.W, p.kw, p.dil_w, p.pad_w);
  const int64_t hw = s.H * s.W, ohw = oh * ow;
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t c = 0; c < s.C; ++c) {
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, s.C * hw) + c * hw;
      float* y = p.y.data + b * MapStride(p.y.batch_stride, s.C * ohw) + c * ohw;
      float* pre = p.pre ? p.pre + (b * s.C + c) * ohw : nullptr;
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t q = 0; q < ow; ++q) {
          const double v = (p.bias ? p.bias[c] : 0.0) +
                           ConvAt(x, s.H, s.W, p.weight + c * p.kh * p.kw, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h,
                                  p.pad_w, r, q);
          Emit(v, p.gelu, y + r * ow + q, pre ? pre + r * ow + q : nullptr);
        }
      }
    }
  }
  return Status::Ok();
}

Status DepthwiseConvBackwardReference(const DepthwiseConvBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t taps = p.kh * p.kw;
  std::vector<double> dw(static_cast<size_t>(s.C * taps), 0.0), db(static_cast<size_t>(s.C), 0.0);
  const bool empty = MapEmpty(s);
  const int64_t oh = empty ? 0 : ConvOutputSize(s.H, p.kh, p.dil_h, p.pad_h);
  const int64_t ow = empty ? 0 : ConvOutputSize(s.W, p.kw, p.dil_w, p.pad_w);
  const int64_t hw = s.H * s.W, ohw = oh * ow;
  for (int64_t b = 0; !empty && b < s.B; ++b) {
    for (int64_t c = 0; c < s.C; ++c) {
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, s.C * hw) + c * hw;
      const float* dy = p.dy.data + b * MapStride(p.dy.batch_stride, s.C * ohw) + c * ohw;
      const float* pre = p.gelu ? p.pre + (b * s.C + c) * ohw : nullptr;
      float* dx = p.dx.data ? p.dx.data + b * MapStride(p.dx.batch_stride, s.C * hw) + c * hw : nullptr;
      const float* w = p.weight + c * taps;
      std::vector<double> dxp(static_cast<size_t>(hw), 0.0);
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t q = 0; q < ow; ++q) {
          const double d = PreGrad(dy[r * ow + q], p.gelu, pre ? pre + r * ow + q : nullptr);
          db[c] += d;
          for (int64_t i = 0; i < p.kh; ++i) {
            const int64_t t = r - p.pad_h + i * p.dil_h;
            for (int64_t j = 0; t >= 0 && t < s.H && j < p.kw; ++j) {
              const int64_t u = q - p.pad_w + j * p.dil_w;
              if (u < 0 || u >= s.W) continue;
              dw[c * taps + i * p.kw + j] += d * x[t * s.W + u];
              dxp[t * s.W + u] += d * w[i * p.kw + j];
            }
          }
        }
      }
      for (int64_t i = 0; dx && i < hw; ++i) dx[i] = static_cast<float>(dxp[i]);
    }
  }
  for (int64_t i = 0; p.dweight && i < s.C * taps; ++i) p.dweight[i] = static_cast<float>(dw[i]);
  for (int64_t c = 0; p.dbias && c < s.C; ++c) p.dbias[c] = static_cast<float>(db[c]);
  return Status::Ok();
}

Status ConvReference(const ConvParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  if (MapEmpty(s) || p.out_channels == 0) return Status::Ok();
  const int64_t oh = ConvOutputSize(s.H, p.k, 1, p.pad), ow = ConvOutputSize(s.W, p.k, 1, p.pad);
  const int64_t hw = s.H * s.W, ohw = oh * ow, kk = p.k * p.k, O = p.out_channels;
  for (int64_t b = 0; b < s.B; ++b) {
    const float* x = p.x.data + b * MapStride(p.x.batch_stride, s.C * hw);
    for (int64_t o = 0; o < O; ++o) {
      float* y = p.y.data + b * MapStride(p.y.batch_stride, O * ohw) + o * ohw;
      float* pre = p.pre ? p.pre + (b * O + o) * ohw : nullptr;
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t q = 0; q < ow; ++q) {
          double v = p.bias ? p.bias[o] : 0.0;
          for (int64_t i = 0; i < s.C; ++i) {
            v += ConvAt(x + i * hw, s.H, s.W, p.weight + (o * s.C + i) * kk, p.k, p.k, 1, 1, p.pad, p.pad, r, q);
          }
          Emit(v, p.gelu, y + r * ow + q, pre ? pre + r * ow + q : nullptr);
        }
      }
    }
  }
  return Status::Ok();
}

Status ConvBackwardReference(const ConvBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t kk = p.k * p.k, O = p.out_channels;
  std::vector<double> dw(static_cast<size_t>(O * s.C * kk), 0.0), db(static_cast<size_t>(O), 0.0);
  const bool empty = MapEmpty(s) || O == 0;
  const int64_t oh = empty ? 0 : ConvOutputSize(s.H, p.k, 1, p.pad), ow = empty ? 0 : ConvOutputSize(s.W, p.k, 1, p.pad);
  const int64_t hw = s.H * s.W, ohw = oh * ow;
  std::vector<double> dxp(static_cast<size_t>(s.C * hw));
  for (int64_t b = 0; !empty && b < s.B; ++b) {
    const float* x = p.x.data + b * MapStride(p.x.batch_stride, s.C * hw);
    std::fill(dxp.begin(), dxp.end(), 0.0);
    for (int64_t o = 0; o < O; ++o) {
      const float* dy = p.dy.data + b * MapStride(p.dy.batch_stride, O * ohw) + o * ohw;
      const float* pre = p.gelu ? p.pre + (b * O + o) * ohw : nullptr;
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t q = 0; q < ow; ++q) {
          const double d = PreGrad(dy[r * ow + q], p.gelu, pre ? pre + r * ow + q : nullptr);
          db[o] += d;
          for (int64_t i = 0; i < s.C; ++i) {
            for (int64_t u = 0; u < p.k; ++u) {
              const int64_t t = r - p.pad + u;
              for (int64_t v = 0; t >= 0 && t < s.H && v < p.k; ++v) {
                const int64_t z = q - p.pad + v;
                if (z < 0 || z >= s.W) continue;
                dw[((o * s.C + i) * p.k + u) * p.k + v] += d * x[i * hw + t * s.W + z];
                dxp[i * hw + t * s.W + z] += d * p.weight[((o * s.C + i) * p.k + u) * p.k + v];
              }
            }
          }
        }
      }
    }
    if (p.dx.data) {
      float* dx = p.dx.data + b * MapStride(p.dx.batch_stride, s.C * hw);
      for (int64_t i = 0; i < s.C * hw; ++i) dx[i] = static_cast<float>(dxp[i]);
    }
  }
  for (size_t i = 0; p.dweight && i < dw.size(); ++i) p.dweight[i] = static_cast<float>(dw[i]);
  for (int64_t o = 0; p.dbias && o < O; ++o) p.dbias[o] = static_cast<float>(db[o]);
  return Status::Ok();
}

Status MaxPoolReference(const MaxPoolParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, ohw = (s.H / 2) * (s.W / 2);
  for (int64_t b = 0; !MapEmpty(s) && ohw > 0 && b < s.B; ++b) {
    for (int64_t c = 0; c < s.C; ++c) {
      ref::MaxPoolKernel(s.H, s.W, p.x.data + b * MapStride(p.x.batch_stride, s.C * hw) + c * hw,
                         p.y.data + b * MapStride(p.y.batch_stride, s.C * ohw) + c * ohw);
    }
  }
  return Status::Ok();
}

Status MaxPoolBackwardReference(const MaxPoolBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, ow = s.W / 2, ohw = (s.H / 2) * ow;
  for (int64_t b = 0; !MapEmpty(s) && b < s.B; ++b) {
    for (int64_t c = 0; c < s.C; ++c) {
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, s.C * hw) + c * hw;
      const float* dy = p.dy.data + b * MapStride(p.dy.batch_stride, s.C * ohw) + c * ohw;
      float* dx = p.dx.data + b * MapStride(p.dx.batch_stride, s.C * hw) + c * hw;
      for (int64_t i = 0; i < hw; ++i) {
        const int64_t r = i / s.W, q = i % s.W;
        const bool pooled = r / 2 < s.H / 2 && q / 2 < ow;
        const int64_t at = (r / 2) * 2 * s.W + (q / 2) * 2;
        const bool arg = pooled && WindowArgMax(x + at, s.W) == static_cast<int>((r % 2) * 2 + q % 2);
        dx[i] = arg ? dy[(r / 2) * ow + q / 2] : 0.0f;
      }
    }
  }
  return Status::Ok();
}

namespace {

// Bilinear taps (align_corners) of output i of an axis, in double.
void Tap(int64_t in, int64_t out, int64_t i, int64_t* i0, int64_t* i1, double* lambda) {
  const double src = out > 1 ? static_cast<double>(i) * static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
  *i0 = std::min<int64_t>(static_cast<int64_t>(std::floor(src)), in - 1);
  *i1 = std::min<int64_t>(*i0 + 1, in - 1);
  *lambda = src - static_cast<double>(*i0);
}

}  // namespace

Status ResizeReference(const ResizeParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  if (MapEmpty(s) || p.out_h == 0 || p.out_w == 0) return Status::Ok();
  const int64_t hw = s.H * s.W, ohw = p.out_h * p.out_w;
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t c = 0; c < s.C; ++c) {
      const float* x = p.x.data + b * MapStride(p.x.batch_stride, s.C * hw) + c * hw;
      float* y = p.y.data + b * MapStride(p.y.batch_stride, s.C * ohw) + c * ohw;
      for (int64_t i = 0; i < p.out_h; ++i) {
        int64_t r0, r1;
        double ly;
        Tap(s.H, p.out_h, i, &r0, &r1, &ly);
        for (int64_t j = 0; j < p.out_w; ++j) {
          int64_t c0, c1;
          double lx;
          Tap(s.W, p.out_w, j, &c0, &c1, &lx);
          const double top = (1 - lx) * x[r0 * s.W + c0] + lx * x[r0 * s.W + c1];
          const double bottom = (1 - lx) * x[r1 * s.W + c0] + lx * x[r1 * s.W + c1];
          y[i * p.out_w + j] = static_cast<float>((1 - ly) * top + ly * bottom);
        }
      }
    }
  }
  return Status::Ok();
}

Status ResizeBackwardReference(const ResizeBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  if (MapEmpty(s)) return Status::Ok();
  const int64_t hw = s.H * s.W, ohw = p.out_h * p.out_w;
  std::vector<double> acc(static_cast<size_t>(hw));
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t c = 0; c < s.C; ++c) {
      const float* dy = p.dy.data ? p.dy.data + b * MapStride(p.dy.batch_stride, s.C * ohw) + c * ohw : nullptr;
      float* dx = p.dx.data + b * MapStride(p.dx.batch_stride, s.C * hw) + c * hw;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t i = 0; i < p.out_h; ++i) {
        int64_t r0, r1;
        double ly;
        Tap(s.H, p.out_h, i, &r0, &r1, &ly);
        for (int64_t j = 0; j < p.out_w; ++j) {
          int64_t c0, c1;
          double lx;
          Tap(s.W, p.out_w, j, &c0, &c1, &lx);
          const double d = dy[i * p.out_w + j];
          acc[r0 * s.W + c0] += (1 - ly) * (1 - lx) * d;
          acc[r0 * s.W + c1] += (1 - ly) * lx * d;
          acc[r1 * s.W + c0] += ly * (1 - lx) * d;
          acc[r1 * s.W + c1] += ly * lx * d;
        }
      }
      for (int64_t i = 0; i < hw; ++i) dx[i] = static_cast<float>(acc[i]);
    }
  }
  return Status::Ok();
}

namespace {

// The map element that multiplies x[c, h, w].
double MapAt(const float* map, MapBroadcast k, const MapShape& s, int64_t c, int64_t h, int64_t w) {
  switch (k) {
    case MapBroadcast::kRows: return map[c * s.H + h];
    case MapBroadcast::kColumns: return map[c * s.W + w];
    default: return map[(c * s.H + h) * s.W + w];
  }
}

int64_t MapIndex(MapBroadcast k, const MapShape& s, int64_t c, int64_t h, int64_t w) {
  switch (k) {
    case MapBroadcast::kRows: return c * s.H + h;
    case MapBroadcast::kColumns: return c * s.W + w;
    default: return (c * s.H + h) * s.W + w;
  }
}

int64_t MapSize(MapBroadcast k, const MapShape& s) {
  return k == MapBroadcast::kRows ? s.C * s.H : k == MapBroadcast::kColumns ? s.C * s.W : s.C * s.H * s.W;
}

}  // namespace

Status HadamardReference(const HadamardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, dense = s.C * hw;
  for (int64_t b = 0; !MapEmpty(s) && b < s.B; ++b) {
    const float* x = p.x.data + b * MapStride(p.x.batch_stride, dense);
    float* y = p.y.data + b * MapStride(p.y.batch_stride, dense);
    for (int64_t i = 0; i < dense; ++i) {
      const int64_t c = i / hw, h = i % hw / s.W, w = i % s.W;
      y[i] = static_cast<float>(x[i] * MapAt(p.map, p.broadcast, s, c, h, w));
    }
  }
  return Status::Ok();
}

Status HadamardBackwardReference(const HadamardBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, dense = s.C * hw;
  std::vector<double> dmap(static_cast<size_t>(MapSize(p.broadcast, s)), 0.0);
  for (int64_t b = 0; !MapEmpty(s) && b < s.B; ++b) {
    const float* dy = p.dy.data + b * MapStride(p.dy.batch_stride, dense);
    const float* x = p.x.data + b * MapStride(p.x.batch_stride, dense);
    for (int64_t i = 0; i < dense; ++i) {
      const int64_t c = i / hw, h = i % hw / s.W, w = i % s.W;
      dmap[MapIndex(p.broadcast, s, c, h, w)] += static_cast<double>(dy[i]) * x[i];
    }
  }
  for (int64_t b = 0; p.dx.data && !MapEmpty(s) && b < s.B; ++b) {
    const float* dy = p.dy.data + b * MapStride(p.dy.batch_stride, dense);
    float* dx = p.dx.data + b * MapStride(p.dx.batch_stride, dense);
    for (int64_t i = 0; i < dense; ++i) {
      const int64_t c = i / hw, h = i % hw / s.W, w = i % s.W;
      dx[i] = static_cast<float>(dy[i] * MapAt(p.map, p.broadcast, s, c, h, w));
    }
  }
  for (size_t i = 0; p.dmap && i < dmap.size(); ++i) p.dmap[i] = static_cast<float>(dmap[i]);
  return Status::Ok();
}

}  // namespace frugal
