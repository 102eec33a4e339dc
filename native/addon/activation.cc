// Activation family glue (GELU, its backward, softmax): unpack, check lengths
// and devices, run sync or async. Shapes were checked in lib/activation.ts;
// these checks are the second line. Outputs are allocated by the caller.
#include <string>

#include "common.h"
#include "frugal/activation.h"

namespace frugal {
namespace addon {
namespace {

void SameDevice(Napi::Env env, const Buffer& a, const Buffer& b) {
  if (a.device != b.device) Throw(env, Code::kDevice, "activation: all buffers must be on one device");
}

int64_t GetCount(const Napi::Value& v, const char* what) {
  const int64_t n = GetInt(v, what);
  if (n < 0 || n > (int64_t{1} << 40)) Throw(v.Env(), Code::kShape, std::string(what) + ": expected a size >= 0");
  return n;
}

// gelu(x, y, n, async)
Napi::Value GeluFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer x = GetBuffer(info[0], "x"), y = GetBuffer(info[1], "y");
  const int64_t n = GetCount(info[2], "n");
  RequireLength(env, x, static_cast<size_t>(n), "x");
  RequireLength(env, y, static_cast<size_t>(n), "y");
  SameDevice(env, x, y);
  const Context ctx = ContextFor(x.device);
  return Run(env, GetBool(info[3], "async"), {info[0], info[1]},
             [=] { return Gelu(ctx, n, x.data, y.data); }, [](Napi::Env e) { return e.Undefined(); });
}

// geluBackward(x, dy, dx, n, async)
Napi::Value GeluBackwardFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer x = GetBuffer(info[0], "x"), dy = GetBuffer(info[1], "dy"), dx = GetBuffer(info[2], "dx");
  const int64_t n = GetCount(info[3], "n");
  RequireLength(env, x, static_cast<size_t>(n), "x");
  RequireLength(env, dy, static_cast<size_t>(n), "dy");
  RequireLength(env, dx, static_cast<size_t>(n), "dx");
  SameDevice(env, x, dy);
  SameDevice(env, x, dx);
  const Context ctx = ContextFor(x.device);
  return Run(env, GetBool(info[4], "async"), {info[0], info[1], info[2]},
             [=] { return GeluBackward(ctx, n, x.data, dy.data, dx.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// softmax(x, y, rows, cols, async)
Napi::Value SoftmaxFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer x = GetBuffer(info[0], "x"), y = GetBuffer(info[1], "y");
  const int64_t rows = GetCount(info[2], "rows"), cols = GetCount(info[3], "cols");
  if (cols > 0 && rows > (int64_t{1} << 40) / cols) Throw(env, Code::kShape, "softmax: rows × cols too large");
  RequireLength(env, x, static_cast<size_t>(rows * cols), "x");
  RequireLength(env, y, static_cast<size_t>(rows * cols), "y");
  SameDevice(env, x, y);
  const Context ctx = ContextFor(x.device);
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
