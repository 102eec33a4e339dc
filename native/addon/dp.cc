// dp family glue: the arguments of lib/dp/index.ts's …Args interfaces, read by
// name. Shapes and ranges were checked in TypeScript; these checks are the
// second line.
#include "common.h"
#include "frugal/dp.h"

namespace frugal {
namespace addon {
namespace {

ClipRule ReadRule(Args& args) {
  return args.Enum<ClipRule>("rule", {{"abadi", ClipRule::kAbadi}, {"automatic", ClipRule::kAutomatic}});
}

// B, T, din, dout and the activations A [B, T, din] and output gradients G [B, T, dout].
LinearGradParams ReadLinear(Args& args) {
  LinearGradParams p;
  p.B = args.Size("B");
  p.T = args.Size("T");
  p.din = args.Size("din");
  p.dout = args.Size("dout");
  p.A = args.Tensor("A", args.Count({p.B, p.T, p.din}));
  p.G = args.Tensor("G", args.Count({p.B, p.T, p.dout}));
  return p;
}

Napi::Value LinearGradNormsFn(const Napi::CallbackInfo& info) {
  Args args(info, "dp.linearGradNorms");
  const LinearGradParams p = ReadLinear(args);
  const NormMethod method = args.Enum<NormMethod>(
      "method", {{"auto", NormMethod::kAuto}, {"gram", NormMethod::kGram}, {"materialize", NormMethod::kMaterialize}});
  float* weight = args.Tensor("weight", static_cast<size_t>(p.B));
  float* bias = args.OptionalTensor("bias", static_cast<size_t>(p.B));
  float* per_sample = args.OptionalTensor("perSample", args.Count({p.B, p.dout, p.din}));
  const Context ctx = args.context();
  return args.Run([=] { return LinearGradNorms(ctx, p, method, weight, bias, per_sample); });
}

Napi::Value ClipFactorsFn(const Napi::CallbackInfo& info) {
  Args args(info, "dp.clipFactors");
  const int64_t B = args.Size("B");
  const float C = args.Float("C");
  const ClipRule rule = ReadRule(args);
  const float* norms = args.Tensor("norms", static_cast<size_t>(B));
  float* factors = args.Tensor("factors", static_cast<size_t>(B));
  const Context ctx = args.context();
  return args.Run([=] { return ClipFactors(ctx, norms, B, C, rule, factors); });
}

Napi::Value ClippedLinearGradFn(const Napi::CallbackInfo& info) {
  Args args(info, "dp.clippedLinearGrad");
  const LinearGradParams p = ReadLinear(args);
  const float* factors = args.Tensor("factors", static_cast<size_t>(p.B));
  float* weight = args.Tensor("weight", args.Count({p.din, p.dout}));
  float* bias = args.OptionalTensor("bias", static_cast<size_t>(p.dout));
  const float* per_sample = args.OptionalTensor("perSample", args.Count({p.B, p.dout, p.din}));
  const Context ctx = args.context();
  return args.Run([=] { return ClippedLinearGrad(ctx, p, factors, weight, bias, per_sample); });
}

Napi::Value ClipRowsFn(const Napi::CallbackInfo& info) {
  Args args(info, "dp.clipRows");
  const int64_t B = args.Size("B"), p = args.Size("p");
  const float C = args.Float("C");
  const ClipRule rule = ReadRule(args);
  const float* rows = args.Tensor("rows", args.Count({B, p}));
  float* sum = args.Tensor("sum", static_cast<size_t>(p));
  float* factors = args.Tensor("factors", static_cast<size_t>(B));
  const Context ctx = args.context();
  return args.Run([=] { return ClipRows(ctx, rows, B, p, C, rule, sum, factors); });
}

// The seed is used here and dropped (it never reaches a JS-visible object).
Napi::Value AddNoiseFn(const Napi::CallbackInfo& info) {
  Args args(info, "dp.addNoise");
  const int64_t n = args.Size("n");
  const float std = args.Float("std");
  StreamId id;
  id.seed = args.Seed("seed");
  id.sub = static_cast<uint32_t>(args.Int("step", 0, 0xffffffffll));
  id.tag = kTagDpNoise;
  const uint64_t offset = static_cast<uint64_t>(args.Int("offset", 0, (int64_t{1} << 53) - 1));
  const bool secure = args.Bool("secure");
  float* t = args.Tensor("t", static_cast<size_t>(n));
  const Context ctx = args.context();
  return args.Run([=] { return AddNoise(ctx, t, n, std, id, offset, secure); });
}

// What 'auto' resolves to: "gram" or "materialize".
Napi::Value ChooseNormMethodFn(const Napi::CallbackInfo& info) {
  Args args(info, "dp.chooseNormMethod");
  const int64_t T = args.Size("T"), din = args.Size("din"), dout = args.Size("dout");
  args.Done();
  return Napi::String::New(info.Env(), ChooseNormMethod(T, din, dout) == NormMethod::kGram ? "gram" : "materialize");
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "dpChooseNormMethod", ChooseNormMethodFn);
  Export(env, exports, "dpLinearGradNorms", LinearGradNormsFn);
  Export(env, exports, "dpClipFactors", ClipFactorsFn);
  Export(env, exports, "dpClippedLinearGrad", ClippedLinearGradFn);
  Export(env, exports, "dpClipRows", ClipRowsFn);
  Export(env, exports, "dpAddNoise", AddNoiseFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
