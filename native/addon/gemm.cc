// GEMM glue: gemm(a, b, c, bias, colScale, residual, batch, M, N, K, transA,
// transB, sharedB, alpha, beta, gelu, async). Contiguous row-major operands;
// lib/matmul.ts checked the shapes, these checks are the second line.
#include "common.h"
#include "frugal/gemm.h"

namespace frugal {
namespace addon {
namespace {

Napi::Value GemmFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer a = GetBuffer(info[0], "a"), b = GetBuffer(info[1], "b"), c = GetBuffer(info[2], "out");
  const Buffer bias = GetOptionalBuffer(info[3], "bias"), scale = GetOptionalBuffer(info[4], "colScale"),
               residual = GetOptionalBuffer(info[5], "residual");
  GemmParams p;
  p.batch = GetInt(info[6], "batch");
  p.M = GetInt(info[7], "M");
  p.N = GetInt(info[8], "N");
  p.K = GetInt(info[9], "K");
  p.transA = GetBool(info[10], "transA");
  p.transB = GetBool(info[11], "transB");
  const bool shared_b = GetBool(info[12], "sharedB");
  p.alpha = static_cast<float>(GetNumber(info[13], "alpha"));
  p.beta = static_cast<float>(GetNumber(info[14], "beta"));
  p.activation = GetBool(info[15], "gelu") ? Activation::kGelu : Activation::kNone;
  const bool async = GetBool(info[16], "async");
  constexpr int64_t kMax = int64_t{1} << 40;
  if (p.batch < 0 || p.M < 0 || p.N < 0 || p.K < 0 || p.batch > kMax || p.M > kMax || p.N > kMax || p.K > kMax) {
    Throw(env, Code::kShape, "gemm: bad sizes");
  }
  const size_t mk = static_cast<size_t>(p.M * p.K), kn = static_cast<size_t>(p.K * p.N),
               mn = static_cast<size_t>(p.M * p.N), batch = static_cast<size_t>(p.batch);
  RequireLength(env, a, batch * mk, "a");
  RequireLength(env, b, (shared_b ? 1 : batch) * kn, "b");
  RequireLength(env, c, batch * mn, "out");
  if (bias.data) RequireLength(env, bias, static_cast<size_t>(p.N), "bias");
  if (scale.data) RequireLength(env, scale, static_cast<size_t>(p.N), "colScale");
  if (residual.data) RequireLength(env, residual, batch * mn, "residual");
  p.A = a.data;
  p.B = b.data;
  p.C = c.data;
  p.bias = bias.data;
  p.colScale = scale.data;
  p.residual = residual.data;
  p.lda = p.transA ? p.M : p.K;
  p.ldb = p.transB ? p.K : p.N;
  p.ldc = p.ldr = p.N;
  p.strideA = static_cast<int64_t>(mk);
  p.strideB = shared_b ? 0 : static_cast<int64_t>(kn);
  p.strideC = p.strideR = static_cast<int64_t>(mn);
  const Context ctx = ContextFor(OneDevice(env, "gemm", {&a, &b, &c, &bias, &scale, &residual}));
  return Run(env, async, {info[0], info[1], info[2], info[3], info[4], info[5]}, [=] { return Gemm(ctx, p); },
             [](Napi::Env e) { return e.Undefined(); });
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("gemm", Napi::Function::New(env, GemmFn)); }

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
