// Activation family glue (GELU, sigmoid, their backwards, softmax): the arguments of
// lib/activation.ts's …Args interfaces, read by name. Shapes were checked in
// TypeScript; these checks are the second line. Outputs are allocated by the caller.
#include "common.h"
#include "frugal/activation.h"

namespace frugal {
namespace addon {
namespace {

Napi::Value GeluFn(const Napi::CallbackInfo& info) {
  Args args(info, "gelu");
  const int64_t n = args.Size("n");
  const float* x = args.Tensor("x", static_cast<size_t>(n));
  float* y = args.Tensor("y", static_cast<size_t>(n));
  args.InPlaceOrApart("y", {"x"});
  const Context ctx = args.context();
  return args.Run([=] { return Gelu(ctx, n, x, y); });
}

Napi::Value GeluBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "geluBackward");
  const int64_t n = args.Size("n");
  const float* x = args.Tensor("x", static_cast<size_t>(n));
  const float* dy = args.Tensor("dy", static_cast<size_t>(n));
  float* dx = args.Tensor("dx", static_cast<size_t>(n));
  args.InPlaceOrApart("dx", {"x", "dy"});
  const Context ctx = args.context();
  return args.Run([=] { return GeluBackward(ctx, n, x, dy, dx); });
}

Napi::Value SigmoidFn(const Napi::CallbackInfo& info) {
  Args args(info, "sigmoid");
  const int64_t n = args.Size("n");
  const float* x = args.Tensor("x", static_cast<size_t>(n));
  float* y = args.Tensor("y", static_cast<size_t>(n));
  args.InPlaceOrApart("y", {"x"});
  const Context ctx = args.context();
  return args.Run([=] { return Sigmoid(ctx, n, x, y); });
}

Napi::Value SigmoidBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "sigmoidBackward");
  const int64_t n = args.Size("n");
  const float* y = args.Tensor("y", static_cast<size_t>(n));
  const float* dy = args.Tensor("dy", static_cast<size_t>(n));
  float* dx = args.Tensor("dx", static_cast<size_t>(n));
  args.InPlaceOrApart("dx", {"y", "dy"});
  const Context ctx = args.context();
  return args.Run([=] { return SigmoidBackward(ctx, n, y, dy, dx); });
}

Napi::Value SoftmaxFn(const Napi::CallbackInfo& info) {
  Args args(info, "softmax");
  const int64_t rows = args.Size("rows"), cols = args.Size("cols");
  const size_t n = args.Count({rows, cols});
  const float* x = args.Tensor("x", n);
  float* y = args.Tensor("y", n);
  args.InPlaceOrApart("y", {"x"});
  const Context ctx = args.context();
  return args.Run([=] { return Softmax(ctx, rows, cols, x, y); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gelu", GeluFn);
  Export(env, exports, "geluBackward", GeluBackwardFn);
  Export(env, exports, "sigmoid", SigmoidFn);
  Export(env, exports, "sigmoidBackward", SigmoidBackwardFn);
  Export(env, exports, "softmax", SoftmaxFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
