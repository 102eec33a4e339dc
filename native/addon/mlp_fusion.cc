// MLP Fusion glue: the arguments of lib/mlp_fusion/ffn.ts's …Args interfaces,
// read by name. Shapes were checked in TypeScript; outputs come from the caller.
#include "common.h"
#include "frugal/mlp_fusion.h"

namespace frugal {
namespace addon {
namespace {

Activation ReadActivation(Args& args) {
  return args.Enum<Activation>("activation", {{"gelu", Activation::kGelu}, {"relu", Activation::kRelu}});
}

Napi::Value FfnFn(const Napi::CallbackInfo& info) {
  Args args(info, "mlpFusion.ffn");
  FusedFfnParams p;
  p.tokens = args.Size("tokens");
  p.d = args.Size("d");
  p.K = args.Size("K");
  p.x = args.Tensor("x", args.Count({p.tokens, p.d}));
  p.W1 = args.Tensor("W1", args.Count({p.K, p.d}));
  p.b1 = args.OptionalTensor("b1", args.Count({p.K}));
  p.W2 = args.Tensor("W2", args.Count({p.d, p.K}));
  p.b2 = args.OptionalTensor("b2", args.Count({p.d}));
  p.counts = args.OptionalTensor("counts", args.Count({p.K}));
  p.activation = ReadActivation(args);
  p.pre = args.Tensor("pre", args.Count({p.tokens, p.K}));
  p.y = args.Tensor("y", args.Count({p.tokens, p.d}));
  args.Apart("pre", {"x", "W1", "b1", "W2", "b2", "counts", "y"});
  args.Apart("y", {"x", "W1", "b1", "W2", "b2", "counts"});
  const Context ctx = args.context();
  return args.Run([=] { return FusedFfn(ctx, p); });
}

Napi::Value FfnBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "mlpFusion.ffnBackward");
  FusedFfnBackwardParams p;
  p.tokens = args.Size("tokens");
  p.d = args.Size("d");
  p.K = args.Size("K");
  p.x = args.Tensor("x", args.Count({p.tokens, p.d}));
  p.W1 = args.Tensor("W1", args.Count({p.K, p.d}));
  p.W2 = args.Tensor("W2", args.Count({p.d, p.K}));
  p.counts = args.OptionalTensor("counts", args.Count({p.K}));
  p.pre = args.Tensor("pre", args.Count({p.tokens, p.K}));
  p.dy = args.Tensor("dy", args.Count({p.tokens, p.d}));
  p.activation = ReadActivation(args);
  p.dx = args.Tensor("dx", args.Count({p.tokens, p.d}));
  p.dW1 = args.Tensor("dW1", args.Count({p.K, p.d}));
  p.db1 = args.Tensor("db1", args.Count({p.K}));
  p.dW2 = args.Tensor("dW2", args.Count({p.d, p.K}));
  p.db2 = args.Tensor("db2", args.Count({p.d}));
  for (const char* out : {"dx", "dW1", "db1", "dW2", "db2"}) {
    args.Apart(out, {"x", "W1", "W2", "counts", "pre", "dy"});
  }
  const Context ctx = args.context();
  return args.Run([=] { return FusedFfnBackward(ctx, p); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "mlpFusionFfn", FfnFn);
  Export(env, exports, "mlpFusionFfnBackward", FfnBackwardFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
