// LayerNorm family glue: unpack, check lengths and devices, run sync or async.
// Shapes and eps were checked in lib/layer_norm.ts; these checks are the
// second line. Outputs are allocated by the caller and written in place.
#include <initializer_list>
#include <string>

#include "common.h"
#include "frugal/layer_norm.h"

namespace frugal {
namespace addon {
namespace {

void GetShape(const Napi::CallbackInfo& info, int at, int64_t* rows, int64_t* cols) {
  *rows = GetInt(info[at], "rows");
  *cols = GetInt(info[at + 1], "cols");
  if (*rows < 0 || *cols < 0 || (*cols > 0 && *rows > (int64_t{1} << 40) / *cols)) {
    Throw(info.Env(), Code::kShape, "layer_norm: bad rows/cols");
  }
}

// layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, eps, async)
Napi::Value LayerNormFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer x = GetBuffer(info[0], "x"), gamma = GetBuffer(info[1], "gamma"),
               beta = GetBuffer(info[2], "beta"), y = GetBuffer(info[3], "y"),
               mean = GetBuffer(info[4], "mean"), rstd = GetBuffer(info[5], "rstd");
  LayerNormParams p;
  GetShape(info, 6, &p.rows, &p.cols);
  p.eps = static_cast<float>(GetNumber(info[8], "eps"));
  const size_t n = static_cast<size_t>(p.rows * p.cols), c = static_cast<size_t>(p.cols),
               r = static_cast<size_t>(p.rows);
  RequireLength(env, x, n, "x");
  RequireLength(env, y, n, "y");
  RequireLength(env, gamma, c, "gamma");
  RequireLength(env, beta, c, "beta");
  RequireLength(env, mean, r, "mean");
  RequireLength(env, rstd, r, "rstd");
  p.x = x.data;
  p.gamma = gamma.data;
  p.beta = beta.data;
  p.y = y.data;
  p.mean = mean.data;
  p.rstd = rstd.data;
  const Context ctx = ContextFor(OneDevice(env, "layerNorm", {&x, &gamma, &beta, &y, &mean, &rstd}));
  return Run(env, GetBool(info[9], "async"), {info[0], info[1], info[2], info[3], info[4], info[5]},
             [=] { return LayerNorm(ctx, p); }, [](Napi::Env e) { return e.Undefined(); });
}

// layerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols, async)
Napi::Value LayerNormBackwardFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer dy = GetBuffer(info[0], "dy"), x = GetBuffer(info[1], "x"),
               gamma = GetBuffer(info[2], "gamma"), mean = GetBuffer(info[3], "mean"),
               rstd = GetBuffer(info[4], "rstd"), dx = GetBuffer(info[5], "dx"),
               dgamma = GetBuffer(info[6], "dgamma"), dbeta = GetBuffer(info[7], "dbeta");
  LayerNormBackwardParams p;
  GetShape(info, 8, &p.rows, &p.cols);
  const size_t n = static_cast<size_t>(p.rows * p.cols), c = static_cast<size_t>(p.cols),
               r = static_cast<size_t>(p.rows);
  RequireLength(env, dy, n, "dy");
  RequireLength(env, x, n, "x");
  RequireLength(env, dx, n, "dx");
  RequireLength(env, gamma, c, "gamma");
  RequireLength(env, dgamma, c, "dgamma");
  RequireLength(env, dbeta, c, "dbeta");
  RequireLength(env, mean, r, "mean");
  RequireLength(env, rstd, r, "rstd");
  p.dy = dy.data;
  p.x = x.data;
  p.gamma = gamma.data;
  p.mean = mean.data;
  p.rstd = rstd.data;
  p.dx = dx.data;
  p.dgamma = dgamma.data;
  p.dbeta = dbeta.data;
  const Context ctx = ContextFor(OneDevice(env, "layerNormBackward", {&dy, &x, &gamma, &mean, &rstd, &dx, &dgamma, &dbeta}));
  return Run(env, GetBool(info[10], "async"),
             {info[0], info[1], info[2], info[3], info[4], info[5], info[6], info[7]},
             [=] { return LayerNormBackward(ctx, p); }, [](Napi::Env e) { return e.Undefined(); });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNorm", Napi::Function::New(env, LayerNormFn));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackwardFn));
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
