// LayerNorm family glue: the arguments of lib/layer_norm.ts's …Args interfaces,
// read by name. Shapes and eps were checked in TypeScript; these checks are the
// second line. Outputs are allocated by the caller and written in place.
#include "common.h"
#include "frugal/layer_norm.h"

namespace frugal {
namespace addon {
namespace {

Napi::Value LayerNormFn(const Napi::CallbackInfo& info) {
  Args args(info, "layerNorm");
  LayerNormParams p;
  p.rows = args.Size("rows");
  p.cols = args.Size("cols");
  p.eps = args.Float("eps");
  const size_t n = args.Count({p.rows, p.cols}), c = static_cast<size_t>(p.cols), r = static_cast<size_t>(p.rows);
  p.x = args.Tensor("x", n);
  p.gamma = args.Tensor("gamma", c);
  p.beta = args.Tensor("beta", c);
  p.y = args.Tensor("y", n);
  p.mean = args.Tensor("mean", r);
  p.rstd = args.Tensor("rstd", r);
  args.InPlaceOrApart("y", {"x"});
  args.Apart("y", {"gamma", "beta", "mean", "rstd"});
  const Context ctx = args.context();
  return args.Run([=] { return LayerNorm(ctx, p); });
}

Napi::Value LayerNormBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "layerNormBackward");
  LayerNormBackwardParams p;
  p.rows = args.Size("rows");
  p.cols = args.Size("cols");
  const size_t n = args.Count({p.rows, p.cols}), c = static_cast<size_t>(p.cols), r = static_cast<size_t>(p.rows);
  p.dy = args.Tensor("dy", n);
  p.x = args.Tensor("x", n);
  p.gamma = args.Tensor("gamma", c);
  p.mean = args.Tensor("mean", r);
  p.rstd = args.Tensor("rstd", r);
  p.dx = args.Tensor("dx", n);
  p.dgamma = args.Tensor("dgamma", c);
  p.dbeta = args.Tensor("dbeta", c);
  args.InPlaceOrApart("dx", {"dy"});
  args.Apart("dx", {"x", "gamma", "mean", "rstd", "dgamma", "dbeta"});
  const Context ctx = args.context();
  return args.Run([=] { return LayerNormBackward(ctx, p); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "layerNorm", LayerNormFn);
  Export(env, exports, "layerNormBackward", LayerNormBackwardFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
