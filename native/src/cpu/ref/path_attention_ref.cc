// Scalar path attention: the reference level of the per-(path, head) kernels,
// every sum in double and each result rounded once, with the plain two-pass
// softmax (the vector levels' online blocks must agree with it). The front end
// runs it as PathAttentionReference too.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/path_attention_kernels.h"

namespace frugal {
namespace ref {
namespace {

double Dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t d = 0; d < n; ++d) s += static_cast<double>(a[d]) * b[d];
  return s;
}

// Row i's probabilities p_j and the log-sum-exp of its scaled scores.
double Softmax(const float* q, const float* k, int64_t tokens, int64_t head_dim, int64_t stride, double scale,
               std::vector<double>* p) {
  double m = -INFINITY;
  for (int64_t j = 0; j < tokens; ++j) {
    (*p)[j] = scale * Dot(q, k + j * stride, head_dim);
    m = std::max(m, (*p)[j]);
  }
  double l = 0;
  for (int64_t j = 0; j < tokens; ++j) l += ((*p)[j] = std::exp((*p)[j] - m));
  for (int64_t j = 0; j < tokens; ++j) (*p)[j] /= l;
  return m + std::log(l);
}

}  // namespace

int64_t PathHeadForwardScratch(int64_t, int64_t) { return 0; }
int64_t PathHeadBackwardScratch(int64_t, int64_t) { return 0; }

void PathHeadForwardPass(const PathHeadForward& h, float*) {
  std::vector<double> p(static_cast<size_t>(h.tokens));
  for (int64_t i = 0; i < h.tokens; ++i) {
    const double lse = Softmax(h.q + i * h.qkv_stride, h.k, h.tokens, h.head_dim, h.qkv_stride, h.scale, &p);
    for (int64_t d = 0; d < h.head_dim; ++d) {
      double o = 0;
      for (int64_t j = 0; j < h.tokens; ++j) o += p[j] * h.v[j * h.qkv_stride + d];
      h.out[i * h.out_stride + d] = static_cast<float>(o);
    }
    h.lse[i * h.lse_stride] = static_cast<float>(lse);
  }
}

void PathHeadBackwardPass(const PathHeadBackward& h, float*) {
  const int64_t T = h.tokens, hd = h.head_dim, s = h.qkv_stride;
  std::vector<double> p(static_cast<size_t>(T)), dk(static_cast<size_t>(T * hd)), dv(dk.size()), dq(static_cast<size_t>(hd));
  for (int64_t i = 0; i < T; ++i) {
    const float* q = h.q + i * s;
    const float* dout = h.dout + i * h.out_stride;
    // The probabilities from the saved lse, as the fast levels do.
    const double lse = h.lse[i * h.lse_stride];
    for (int64_t j = 0; j < T; ++j) p[j] = std::exp(h.scale * Dot(q, h.k + j * s, hd) - lse);
    const double D = Dot(dout, h.out + i * h.out_stride, hd);
    std::fill(dq.begin(), dq.end(), 0.0);
    for (int64_t j = 0; j < T; ++j) {
      const double ds = p[j] * (Dot(dout, h.v + j * s, hd) - D);
      for (int64_t d = 0; d < hd; ++d) {
        dq[d] += ds * h.k[j * s + d];
        dk[j * hd + d] += ds * q[d];
        dv[j * hd + d] += p[j] * dout[d];
      }
    }
    for (int64_t d = 0; d < hd; ++d) h.dq[i * s + d] = static_cast<float>(dq[d] * h.scale);
  }
  for (int64_t j = 0; j < T; ++j) {
    for (int64_t d = 0; d < hd; ++d) {
      h.dk[j * s + d] = static_cast<float>(dk[j * hd + d] * h.scale);
      h.dv[j * s + d] = static_cast<float>(dv[j * hd + d]);
    }
  }
}

}  // namespace ref
}  // namespace frugal
