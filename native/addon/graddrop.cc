// GradDrop family glue: the arguments of lib/graddrop/ops.ts's …Args interfaces,
// read by name. Options and shapes were checked in TypeScript (checkMaskOptions);
// these checks are the second line. Outputs are allocated by the caller.
#include "common.h"
#include "frugal/graddrop.h"

namespace frugal {
namespace addon {
namespace {

constexpr int64_t kU32Max = 0xffffffffLL;

// The mask keys every op reads, in one order (block is [1, 1] unless 'block').
GradMask ReadMask(Args& args) {
  GradMask m;
  m.rows = args.Size("rows");
  m.cols = args.Size("cols");
  m.granularity = args.Enum<MaskGranularity>("granularity", {{"element", MaskGranularity::kElement},
                                                             {"row", MaskGranularity::kRow},
                                                             {"column", MaskGranularity::kColumn},
                                                             {"block", MaskGranularity::kBlock},
                                                             {"tensor", MaskGranularity::kTensor}});
  m.blockRows = args.Size("blockRows");
  m.blockCols = args.Size("blockCols");
  m.p = args.Number("p");
  m.rescale = args.Bool("rescale");
  m.seed = args.Seed("seed");
  m.step = static_cast<uint32_t>(args.Int("step", 0, kU32Max));
  m.layer = static_cast<uint32_t>(args.Int("layer", 0, kU32Max));
  return m;
}

Napi::Value MaskFn(const Napi::CallbackInfo& info) {
  Args args(info, "graddropMask");
  const GradMask m = ReadMask(args);
  float* out = args.Tensor("out", args.Count({m.rows, m.cols}));
  const Context ctx = args.context();
  return args.Run([=] { return GradDropMask(ctx, m, out); });
}

Napi::Value ApplyFn(const Napi::CallbackInfo& info) {
  Args args(info, "graddropApply");
  const GradMask m = ReadMask(args);
  float* grad = args.Tensor("grad", args.Count({m.rows, m.cols}));
  const Context ctx = args.context();
  return args.Run([=] { return GradDropApply(ctx, m, grad); });
}

Napi::Value LinearGradFn(const Napi::CallbackInfo& info) {
  Args args(info, "graddropLinearGrad");
  MaskedLinearGradParams p;
  p.mask = ReadMask(args);
  p.tokens = args.Size("tokens");
  p.din = p.mask.cols;
  p.dout = p.mask.rows;
  p.A = args.Tensor("a", args.Count({p.tokens, p.din}));
  p.G = args.Tensor("g", args.Count({p.tokens, p.dout}));
  p.weight = args.Tensor("weight", args.Count({p.dout, p.din}));
  p.bias = args.OptionalTensor("bias", static_cast<size_t>(p.dout));
  p.beta = args.Float("beta");
  args.Apart("weight", {"a", "g", "bias"});
  args.Apart("bias", {"a", "g"});
  const Context ctx = args.context();
  return args.Run([=] { return GradDropLinearGrad(ctx, p); });
}

// [br, bc] at the active ISA level; takes no arguments.
Napi::Value PreferredBlockFn(const Napi::CallbackInfo& info) {
  int64_t br = 1, bc = 1;
  GradDropPreferredBlock(&br, &bc);
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(br)));
  a.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(bc)));
  return a;
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "graddropMask", MaskFn);
  Export(env, exports, "graddropApply", ApplyFn);
  Export(env, exports, "graddropLinearGrad", LinearGradFn);
  Export(env, exports, "graddropPreferredBlock", PreferredBlockFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
