// CUDA benchmark: the foundation ops on the GPU, each beside a baseline measured
// in the same run. Timing: cudaEvents around every launch, median of kRuns runs
// after kWarmup warm-up runs. The launchers are called directly (the front ends
// only add host-side argument checks).
//
// Output: one "bench" line per measurement, then one "key <family> ..." line per
// op family (scripts/gpu-check.sh joins those with the test results). Exits 0
// with a message when there is no device or the build has no CUDA.
#include <cstdio>

#ifdef FRUGAL_WITH_CUDA
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cuda_bench_baseline.h"
#include "cuda/activation.h"
#include "cuda/feature_map.h"
#include "frugal/cuda.h"
#include "cuda/gemm.h"
#include "cuda/layer_norm.h"
#include "cuda/random.h"
#include "cuda/slash.h"
#include "frugal/hadamard.h"
#include "frugal/path_attention.h"

namespace frugal {
namespace {

constexpr int kWarmup = 3, kRuns = 15;

Status FromCuda(cudaError_t e, const char* what) {
  return e == cudaSuccess ? Status::Ok() : Status::Device(std::string(what) + ": " + cudaGetErrorString(e));
}

// Device memory for the benchmark, filled with uniform [0, 1) values from a random stream.
class Buffer {
 public:
  explicit Buffer(int64_t n, uint32_t sub = 0) : n_(n) {
    status_ = CudaMalloc(reinterpret_cast<void**>(&ptr_), n * sizeof(float));
    if (status_.ok()) status_ = RandomCuda(RandomKind::kUniform, {7, sub, 0}, 0, n, 1.0f, ptr_, nullptr);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { (void)CudaFree(ptr_); }
  float* get() const { return ptr_; }
  const Status& status() const { return status_; }
  std::vector<float> Host() const {
    std::vector<float> h(n_);
    (void)CudaCopyToHost(h.data(), ptr_, n_ * sizeof(float));
    return h;
  }

 private:
  float* ptr_ = nullptr;
  int64_t n_;
  Status status_;
};

// Median milliseconds of one call of fn (on the default stream); negative on error.
double MedianMs(const std::function<Status()>& fn, std::string* error) {
  cudaEvent_t start, stop;
  if (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess) {
    *error = "cudaEventCreate failed";
    return -1;
  }
  std::vector<float> ms;
  Status s;
  for (int r = 0; r < kWarmup + kRuns && s.ok(); ++r) {
    cudaEventRecord(start);
    s = fn();
    cudaEventRecord(stop);
    if (s.ok()) s = FromCuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float t = 0;
    if (s.ok()) s = FromCuda(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
    if (r >= kWarmup) ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (!s.ok()) {
    *error = s.message();
    return -1;
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

std::map<std::string, std::string> g_keys;  // family -> key figure
int g_errors = 0;

// Prints one measurement: rate = work / time for the op and for its baseline.
// Returns the op's rate (0 on error); the baseline's rate goes to *base_rate when asked.
double Report(const char* op, const std::string& shape, const char* unit, double work, const char* baseline,
              const std::function<Status()>& run, const std::function<Status()>& run_baseline,
              const std::string& extra = "", double* base_rate = nullptr) {
  std::string error;
  const double ms = MedianMs(run, &error);
  const double base_ms = error.empty() ? MedianMs(run_baseline, &error) : -1;
  if (!error.empty()) {
    std::printf("bench %-16s %-16s ERROR %s\n", op, shape.c_str(), error.c_str());
    ++g_errors;
    return 0;
  }
  const double rate = work / (ms * 1e-3), base = work / (base_ms * 1e-3);
  if (base_rate) *base_rate = base;
  std::printf("bench %-16s %-16s %9.2f %-8s (%.3f ms) | %-14s %9.2f | ratio %6.2fx%s\n", op, shape.c_str(), rate,
              unit, ms, baseline, base, rate / base, extra.c_str());
  return rate;
}

std::string Fmt(const char* format, double a, double b = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

// Largest |a − b| over the largest |b|: a sanity check of Frugal against the naive kernel.
double RelDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

void BenchGemm() {
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape s : {Shape{1024, 1024, 1024}, Shape{2048, 2048, 2048}, Shape{4096, 768, 3072}, Shape{4096, 3072, 768}}) {
    Buffer A(s.M * s.K, 1), B(s.K * s.N, 2), C(s.M * s.N), naive(s.M * s.N);
    if (!A.status().ok() || !B.status().ok() || !C.status().ok() || !naive.status().ok()) {
      std::printf("bench gemm ERROR allocating: %s\n", A.status().message().c_str());
      ++g_errors;
      return;
    }
    GemmParams p;
    p.M = s.M, p.N = s.N, p.K = s.K;
    p.A = A.get(), p.lda = s.K, p.B = B.get(), p.ldb = s.N, p.C = C.get(), p.ldc = s.N;
    const std::string shape = std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K);
    const double flop = 2.0 * s.M * s.N * s.K / 1e12;
    const auto run_naive = [&] { return FromCuda(bench::NaiveGemm(s.M, s.N, s.K, A.get(), B.get(), naive.get(), nullptr), "naive"); };
    double rates[2] = {0, 0};
    for (bool tf32 : {false, true}) {
      p.allowTf32 = tf32;
      const auto run = [&] { return GemmCuda(p, nullptr); };
      // One untimed run of each, to compare their results.
      std::string check;
      if (run().ok() && run_naive().ok()) check = Fmt(" | max rel diff vs naive %.1e", RelDiff(C.Host(), naive.Host()));
      rates[tf32] = Report(tf32 ? "gemm_tf32" : "gemm_fp32", shape, "TFLOP/s", flop, "naive", run, run_naive, check);
    }
    if (s.M == 2048) {
      g_keys["gemm"] = Fmt("fp32 2048^3 %.1f TFLOP/s, tf32 %.1f TFLOP/s", rates[0], rates[1]);
    }
  }
}

void BenchRandom() {
  const int64_t n = int64_t{1} << 26;
  Buffer out(n);
  if (!out.status().ok()) return;
  const auto memset_roof = [&] { return FromCuda(cudaMemsetAsync(out.get(), 0, n * sizeof(float)), "memset"); };
  double normal = 0;
  for (RandomKind kind : {RandomKind::kNormal, RandomKind::kUniform, RandomKind::kWords}) {
    const char* name = kind == RandomKind::kNormal ? "random_normal" : kind == RandomKind::kUniform ? "random_uniform" : "random_words";
    const double rate = Report(name, "2^26", "G/s", n / 1e9, "memset (G/s)",
                               [&] { return RandomCuda(kind, {1, 2, kTagDpNoise}, 0, n, 1.0f, out.get(), nullptr); },
                               memset_roof);
    if (kind == RandomKind::kNormal) normal = rate;
  }
  g_keys["random"] = Fmt("normal %.1f G values/s", normal);
}

// LayerNorm, GELU and softmax in GB/s of compulsory traffic, against a device-to-device copy.
void BenchMemoryBound() {
  for (int64_t cols : {int64_t{768}, int64_t{3072}}) {
    const int64_t rows = 4096, n = rows * cols;
    Buffer x(n, 3), dy(n, 4), y(n), dx(n), gamma(cols, 5), beta(cols, 6), mean(rows), rstd(rows);
    Buffer dgamma(cols), dbeta(cols);
    if (!x.status().ok() || !y.status().ok() || !dx.status().ok()) return;
    const std::string shape = "[" + std::to_string(rows) + "," + std::to_string(cols) + "]";
    const double gb2 = 2.0 * n * sizeof(float) / 1e9, gb3 = 3.0 * n * sizeof(float) / 1e9;
    const auto copy = [&] {
      return FromCuda(cudaMemcpyAsync(y.get(), x.get(), n * sizeof(float), cudaMemcpyDeviceToDevice), "copy");
    };
    const LayerNormParams ln{rows, cols, x.get(), gamma.get(), beta.get(), 1e-5f, y.get(), mean.get(), rstd.get()};
    const LayerNormBackwardParams lnb{rows, cols, dy.get(), x.get(), gamma.get(), mean.get(), rstd.get(),
                                      dx.get(), dgamma.get(), dbeta.get()};
    const double ln_rate = Report("layer_norm", shape, "GB/s", gb2, "d2d copy", [&] { return LayerNormCuda(ln, nullptr); }, copy);
    Report("layer_norm_bwd", shape, "GB/s", gb3, "d2d copy", [&] { return LayerNormBackwardCuda(lnb, nullptr); }, copy);
    const double gelu = Report("gelu", shape, "GB/s", gb2, "d2d copy", [&] { return GeluCuda(n, x.get(), y.get(), nullptr); }, copy);
    Report("gelu_bwd", shape, "GB/s", gb3, "d2d copy",
           [&] { return GeluBackwardCuda(n, x.get(), dy.get(), dx.get(), nullptr); }, copy);
    const double softmax = Report("softmax", shape, "GB/s", gb2, "d2d copy",
                                  [&] { return SoftmaxCuda(rows, cols, x.get(), y.get(), nullptr); }, copy);
    if (cols == 3072) {
      g_keys["layer_norm"] = Fmt("forward [4096,3072] %.0f GB/s", ln_rate);
      g_keys["activation"] = Fmt("gelu [4096,3072] %.0f GB/s, softmax %.0f GB/s", gelu, softmax);
    }
  }
}

// SLaSh projection at the paper's size (24 layers, d = H = 1024), in W elements
// per second: every element of every W_l is regenerated from Philox and used once
// (forward) or once for all samples (backward). Baseline: RandomCuda writing the
// same number of normals to memory, i.e. generating W instead of regenerating it.
void BenchSlash() {
  ProjectionParams p;
  p.seed = 7;
  p.layers = 24, p.dim = 1024, p.hidden = 1024;
  const int64_t n = p.layers * p.dim * p.hidden;
  const int64_t max_batch = 16;
  Buffer z(p.dim, 8), shifts(p.layers * p.hidden), g(max_batch * p.layers * p.hidden, 9), dz(max_batch * p.dim);
  Buffer w(n);
  if (!z.status().ok() || !g.status().ok() || !w.status().ok()) {
    std::printf("bench slash ERROR allocating: %s\n", w.status().message().c_str());
    ++g_errors;
    return;
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.dim)));
  const auto normals = [&] {
    return RandomCuda(RandomKind::kNormal, {p.seed, 0, kTagProjection}, 0, n, scale, w.get(), nullptr);
  };
  const std::string shape = "L24 d1024 H1024";
  double base = 0;
  const double fwd = Report("slash_project", shape, "G/s", n / 1e9, "random_normal",
                            [&] { return SlashProjectCuda(p, z.get(), shifts.get(), nullptr); }, normals, "", &base);
  p.dist = ProjectionDist::kRademacher;
  Report("slash_project_rad", shape, "G/s", n / 1e9, "random_normal",
         [&] { return SlashProjectCuda(p, z.get(), shifts.get(), nullptr); }, normals);
  p.dist = ProjectionDist::kNormal;
  double bwd[2] = {0, 0};
  int k = 0;
  for (int64_t batch : {int64_t{1}, max_batch}) {
    const std::string op = "slash_bwd_b" + std::to_string(batch);
    bwd[k++] = Report(op.c_str(), shape, "G/s", n / 1e9, "random_normal",
                      [&] { return SlashProjectBackwardCuda(p, batch, g.get(), dz.get(), nullptr); }, normals);
  }
  if (fwd > 0 && base > 0) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "project L=24 d=1024 H=1024 %.1f G W-elements/s (%.2fx random_normal), backward batch 1 %.1f, "
                  "batch %d %.1f",
                  fwd, fwd / base, bwd[0], static_cast<int>(max_batch), bwd[1]);
    g_keys["slash"] = buf;
  }
}

// Packed path attention at LightPath's shapes (64 paths, 8 heads of 16), through the
// front end (its offsets copy included) in GFLOP/s: the kept tokens of ratio 0.7
// with CLS (16 a path) beside the full-length 51 tokens the released code runs.
void BenchPathAttention() {
  constexpr int64_t kPaths = 64, kHeads = 8, kHeadDim = 16;
  const auto run = [&](int64_t tokens, bool backward) {
    std::vector<int32_t> offsets(kPaths + 1);
    for (int64_t b = 0; b <= kPaths; ++b) offsets[b] = static_cast<int32_t>(b * tokens);
    const int64_t n = kPaths * tokens * kHeads * kHeadDim;
    auto q = std::make_unique<Buffer>(n, 10), k = std::make_unique<Buffer>(n, 11), v = std::make_unique<Buffer>(n, 12);
    auto out = std::make_unique<Buffer>(n), lse = std::make_unique<Buffer>(kPaths * tokens * kHeads);
    auto dq = std::make_unique<Buffer>(n), dk = std::make_unique<Buffer>(n), dv = std::make_unique<Buffer>(n);
    Context ctx;
    ctx.device = Device::kCuda;
    PathAttentionParams f;
    f.paths = kPaths, f.heads = kHeads, f.head_dim = kHeadDim, f.offsets = offsets.data(), f.scale = 0.25f;
    f.q = q->get(), f.k = k->get(), f.v = v->get(), f.out = out->get(), f.lse = lse->get();
    PathAttentionBackwardParams g;
    g.paths = kPaths, g.heads = kHeads, g.head_dim = kHeadDim, g.offsets = offsets.data(), g.scale = 0.25f;
    g.q = f.q, g.k = f.k, g.v = f.v, g.out = f.out, g.lse = f.lse, g.dout = f.v, g.dq = dq->get(), g.dk = dk->get(), g.dv = dv->get();
    Status first = PathAttention(ctx, f);
    std::function<Status()> fn = [=] { return backward ? PathAttentionBackward(ctx, g) : PathAttention(ctx, f); };
    std::string error = first.message();
    const double ms = first.ok() ? MedianMs(fn, &error) : -1;
    // QKᵀ and PV: 4·T²·hd a head; the backward 10·T²·hd.
    const double flops = (backward ? 10.0 : 4.0) * kPaths * kHeads * tokens * tokens * kHeadDim;
    return std::make_pair(ms < 0 ? 0.0 : flops / (ms * 1e6), error);
  };
  double key[2] = {0, 0};
  for (bool backward : {false, true}) {
    const auto kept = run(16, backward), full = run(51, backward);
    const char* op = backward ? "path_attn_bwd" : "path_attn";
    if (!kept.second.empty() || !full.second.empty()) {
      std::printf("bench %-16s ERROR %s\n", op, (kept.second + full.second).c_str());
      ++g_errors;
      continue;
    }
    std::printf("bench %-16s %-16s %9.2f GFLOP/s | full 51 tokens %9.2f GFLOP/s\n", op, "B64 T16 8x16", kept.first, full.first);
    key[backward] = kept.first;
  }
  g_keys["path_attention"] = Fmt("B64 T16 8x16 forward %.0f GFLOP/s, backward %.0f GFLOP/s", key[0], key[1]);
}

// Feature-map ops at EGE-UNet-like sizes: the depthwise 3×3 conv in GB/s of
// compulsory traffic beside a device-to-device copy, the 1×1 conv in GFLOP/s
// beside the plain batched GEMM it is built on (the ratio is its epilogue's cost).
void BenchFeatureMap() {
  const MapShape dw{8, 32, 64, 64};
  const int64_t n = dw.B * dw.C * dw.H * dw.W;
  Buffer x(n, 13), dy(n, 14), y(n), dx(n), w(dw.C * 9, 15), bias(dw.C, 16), dweight(dw.C * 9), dbias(dw.C);
  if (!x.status().ok() || !y.status().ok() || !dx.status().ok()) return;
  const auto copy = [&] {
    return FromCuda(cudaMemcpyAsync(y.get(), x.get(), n * sizeof(float), cudaMemcpyDeviceToDevice), "copy");
  };
  DepthwiseConvParams f;
  f.shape = dw, f.x = {x.get()}, f.weight = w.get(), f.bias = bias.get(), f.y = {y.get()};
  DepthwiseConvBackwardParams b;
  b.shape = dw, b.dy = {dy.get()}, b.x = {x.get()}, b.weight = w.get(), b.dx = {dx.get()};
  b.dweight = dweight.get(), b.dbias = dbias.get();
  const double gb = n * sizeof(float) / 1e9;
  const double dw_f = Report("depthwise3x3", "8x32x64x64", "GB/s", 2 * gb, "d2d copy",
                             [&] { return DepthwiseConvCuda(f, nullptr); }, copy);
  const double dw_b = Report("depthwise3x3_bwd", "8x32x64x64", "GB/s", 3 * gb, "d2d copy",
                             [&] { return DepthwiseConvBackwardCuda(b, nullptr); }, copy);

  const MapShape pw{8, 32, 32, 32};
  const int64_t out = 48, pixels = pw.H * pw.W;
  Buffer px(pw.B * pw.C * pixels, 17), pdy(pw.B * out * pixels, 18), py(pw.B * out * pixels), pdx(pw.B * pw.C * pixels);
  Buffer pwt(out * pw.C, 19), pbias(out, 20), pdw(out * pw.C), pdb(out);
  if (!px.status().ok() || !pdy.status().ok() || !py.status().ok() || !pdx.status().ok()) return;
  ConvParams cf;
  cf.shape = pw, cf.out_channels = out, cf.x = {px.get()}, cf.weight = pwt.get(), cf.bias = pbias.get();
  cf.y = {py.get()};
  ConvBackwardParams cb;
  cb.shape = pw, cb.out_channels = out, cb.dy = {pdy.get()}, cb.x = {px.get()}, cb.weight = pwt.get();
  cb.dx = {pdx.get()}, cb.dweight = pdw.get(), cb.dbias = pdb.get();
  GemmParams gemm;  // y_b = W·x_b for every batch: the forward's GEMM alone
  gemm.batch = pw.B, gemm.M = out, gemm.N = pixels, gemm.K = pw.C;
  gemm.A = pwt.get(), gemm.lda = pw.C, gemm.B = px.get(), gemm.ldb = pixels, gemm.strideB = pw.C * pixels;
  gemm.C = py.get(), gemm.ldc = pixels, gemm.strideC = out * pixels;
  const auto run_gemm = [&] { return GemmCuda(gemm, nullptr); };
  const double flop = 2.0 * pw.B * out * pw.C * pixels / 1e9;
  const double c_f = Report("conv1x1", "8x32x32x32>48", "GFLOP/s", flop, "batched gemm",
                            [&] { return ConvCuda(cf, nullptr); }, run_gemm);
  const double c_b = Report("conv1x1_bwd", "8x32x32x32>48", "GFLOP/s", 2 * flop, "batched gemm",
                            [&] { return ConvBackwardCuda(cb, nullptr); }, run_gemm);
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "depthwise 3x3 8x32x64x64 %.0f GB/s, backward %.0f GB/s; conv 1x1 32>48 8x32x32 %.0f GFLOP/s, "
                "backward %.0f GFLOP/s",
                dw_f, dw_b, c_f, c_b);
  g_keys["feature_map"] = buf;
}


// GHPA(32 → 48) at 8×32×32×32 and GAB(48, 32) with xl 8×32×32×32, through the
// module front ends on the device: GB/s of the module's input and output bytes
// beside a device-to-device copy of the same bytes (the memory floor).
void BenchHadamard() {
  const GhpaShape s{8, 32, 48, 32, 32};
  const auto layout = GhpaLayout(s.C, s.O);
  const int64_t nx = s.B * s.C * s.H * s.W, ny = s.B * s.O * s.H * s.W;
  Buffer params(layout.back().offset + layout.back().size, 21), x(nx, 22), y(ny), dy(ny, 23), dx(nx);
  Buffer saved(GhpaSavedFloats(s)), maps(GhpaMapsFloats(s)), dparams(layout.back().offset + layout.back().size);
  if (!params.status().ok() || !saved.status().ok() || !x.status().ok()) return;
  Context gpu;
  gpu.device = Device::kCuda;
  GhpaParams f;
  f.shape = s, f.w = GhpaWeightsAt(params.get(), s.C, s.O), f.x = x.get(), f.y = y.get(), f.saved = saved.get();
  GhpaParams infer = f;
  infer.saved = nullptr, infer.maps = maps.get();
  GhpaMapsParams m;
  m.shape = s, m.w = f.w, m.maps = maps.get();
  GhpaBackwardParams b;
  b.shape = s, b.w = f.w, b.x = x.get(), b.saved = saved.get(), b.dy = dy.get(), b.dx = dx.get();
  b.grads = GhpaGradsAt(dparams.get(), s.C, s.O);
  if (!GhpaMaps(gpu, m).ok()) return;
  const double io = (nx + ny) * sizeof(float) / 1e9;
  const auto copy = [&] {
    return FromCuda(cudaMemcpyAsync(dx.get(), x.get(), nx * sizeof(float), cudaMemcpyDeviceToDevice), "copy");
  };
  const std::string shape = "8x32x32x32>48";
  const double g_train = Report("ghpa", shape, "GB/s", io, "d2d copy", [&] { return Ghpa(gpu, f); }, copy);
  const double g_infer = Report("ghpa_infer", shape, "GB/s", io, "d2d copy", [&] { return Ghpa(gpu, infer); }, copy);
  const double g_both = Report("ghpa_fwd_bwd", shape, "GB/s", 2 * io, "d2d copy", [&] {
    const Status st = Ghpa(gpu, f);
    return st.ok() ? GhpaBackward(gpu, b) : st;
  }, copy);

  const GabShape g{8, 48, 32, 16, 16, 32, 32};
  const auto gl = GabLayout(g.Ch, g.Cl);
  const int64_t nh = g.B * g.Ch * g.h * g.w, nl = g.B * g.Cl * g.H * g.W, nm = g.B * g.H * g.W;
  Buffer gp(gl.back().offset + gl.back().size, 24), xh(nh, 25), xl(nl, 26), mask(nm, 27), gy(nl), gsaved(GabSavedFloats(g));
  if (!gp.status().ok() || !gsaved.status().ok()) return;
  GabParams a;
  a.shape = g, a.w = GabWeightsAt(gp.get(), g.Ch, g.Cl), a.xh = xh.get(), a.xl = xl.get(), a.mask = mask.get();
  a.y = gy.get(), a.saved = gsaved.get();
  const double gio = (nh + 2 * nl + nm) * sizeof(float) / 1e9;
  const double gab = Report("gab", "8x48x16x16+8x32x32x32", "GB/s", gio, "d2d copy", [&] { return Gab(gpu, a); }, copy);
  char buf[200];
  std::snprintf(buf, sizeof buf, "ghpa 32>48 8x32x32 %.1f GB/s (inference %.1f, fwd+bwd %.1f); gab 48,32 %.1f GB/s",
                g_train, g_infer, g_both, gab);
  g_keys["hadamard"] = buf;
}

}  // namespace
}  // namespace frugal

int main() {
  using namespace frugal;
  if (CudaDeviceCount() == 0) {
    std::printf("cuda_bench: no CUDA device, nothing to measure\n");
    return 0;
  }
  std::printf("cuda_bench: %s, median of %d runs after %d warm-up runs\n", CudaDeviceName(0), kRuns, kWarmup);
  BenchGemm();
  BenchRandom();
  BenchMemoryBound();
  BenchSlash();
  BenchPathAttention();
  BenchFeatureMap();
  BenchHadamard();
  for (const auto& kv : g_keys) std::printf("key %s %s\n", kv.first.c_str(), kv.second.c_str());
  return g_errors == 0 ? 0 : 1;
}

#else

int main() {
  std::printf("cuda_bench: this build has no CUDA backend, nothing to measure\n");
  return 0;
}

#endif
