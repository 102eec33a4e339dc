// Activation family glue (GELU, its backward, softmax): unpack, check lengths
// and devices, run sync or async. Shapes were checked in lib/activation.ts;
// these checks are the second line. Outputs are allocated by the caller.
#include <string>

#include "common.h"
#include "frugal/activation.h"

namespace frugal {
namespace addon {
namespace {

// gelu(x, y, n, async)
Napi::Value GeluFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer x = GetBuffer(info[0], "x"), y = GetBuffer(info[1], "y");
  const int64_t n = GetSize(info[2], "n");
  RequireLength(env, x, static_cast<size_t>(n), "x");
  RequireLength(env, y, static_cast<size_t>(n), "y");
  const Context ctx = ContextFor(OneDevice(env, "gelu", {&x, &y}));
  return Run(env, GetBool(info[3], "async"), {info[0], info[1]},
             [=] { return Gelu(ctx, n, x.data, y.data); }, [](Napi::Env e) { return e.Undefined(); });
}

// geluBackward(x, dy, dx, n, async)
Napi::Value GeluBackwardFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer x = GetBuffer(info[0], "x"), dy = GetBuffer(info[1], "dy"), dx = GetBuffer(info[2], "dx");
  const int64_t n = GetSize(info[3], "n");
  RequireLength(env, x, static_cast<size_t>(n), "x");
  RequireLength(env, dy, static_cast<size_t>(n), "dy");
  RequireLength(env, dx, static_cast<size_t>(n), "dx");
  const Context ctx = ContextFor(OneDevice(env, "geluBackward", {&x, &dy, &dx}));
  return Run(env, GetBool(info[4], "async"), {info[0], info[1], info[2]},
             [=] { return GeluBackward(ctx, n, x.data, dy.data, dx.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// softmax(x, y, rows, cols, async)
Napi::Value SoftmaxFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer x = GetBuffer(info[0], "x"), y = GetBuffer(info[1], "y");
  const int64_t rows = GetSize(info[2], "rows"), cols = GetSize(info[3], "cols");
  if (cols > 0 && rows > (int64_t{1} << 40) / cols) Throw(env, Code::kShape, "softmax: rows × cols too large");
  RequireLength(env, x, static_cast<size_t>(rows * cols), "x");
  RequireLength(env, y, static_cast<size_t>(rows * cols), "y");
  const Context ctx = ContextFor(OneDevice(env, "softmax", {&x, &y}));
  return Run(env, GetBool(info[4], "async"), {info[0], info[1]},
             [=] { return Softmax(ctx, rows, cols, x.data, y.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("gelu", Napi::Function::New(env, GeluFn));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackwardFn));
  exports.Set("softmax", Napi::Function::New(env, SoftmaxFn));
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
