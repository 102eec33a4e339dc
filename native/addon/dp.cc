// dp family glue: unpack, check lengths and devices, run sync or async. Shapes and
// ranges were checked in lib/dp/index.ts; these checks are the second line.
#include <string>
#include <vector>

#include "common.h"
#include "frugal/dp.h"

namespace frugal {
namespace addon {
namespace {

NormMethod GetMethod(const Napi::Value& v) {
  const int64_t m = GetInt(v, "method");
  if (m < 0 || m > 2) Throw(v.Env(), Code::kRange, "method: expected 0 (auto), 1 (gram) or 2 (materialize)");
  return static_cast<NormMethod>(m);
}

ClipRule GetRule(const Napi::Value& v) {
  const int64_t r = GetInt(v, "rule");
  if (r < 0 || r > 1) Throw(v.Env(), Code::kRange, "rule: expected 0 (abadi) or 1 (automatic)");
  return static_cast<ClipRule>(r);
}

LinearGradParams GetLinear(const Napi::CallbackInfo& info, const Buffer& A, const Buffer& G, int first) {
  LinearGradParams p;
  p.B = GetInt(info[first], "B");
  p.T = GetInt(info[first + 1], "T");
  p.din = GetInt(info[first + 2], "din");
  p.dout = GetInt(info[first + 3], "dout");
  if (p.B < 0 || p.T < 0 || p.din < 0 || p.dout < 0) Throw(info.Env(), Code::kShape, "dp: negative dimension");
  RequireLength(info.Env(), A, static_cast<size_t>(p.B * p.T * p.din), "A");
  RequireLength(info.Env(), G, static_cast<size_t>(p.B * p.T * p.dout), "G");
  p.A = A.data;
  p.G = G.data;
  return p;
}

// dpLinearGradNorms(A, G, B, T, din, dout, method, weightSq, biasSq | null, perSample | null, async)
Napi::Value LinearGradNormsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer A = GetBuffer(info[0], "A"), G = GetBuffer(info[1], "G");
  const LinearGradParams p = GetLinear(info, A, G, 2);
  const NormMethod method = GetMethod(info[6]);
  const Buffer w = GetBuffer(info[7], "weight"), b = GetOptionalBuffer(info[8], "bias");
  const Buffer ps = GetOptionalBuffer(info[9], "perSample");
  RequireLength(env, w, static_cast<size_t>(p.B), "weight");
  if (b.data) RequireLength(env, b, static_cast<size_t>(p.B), "bias");
  if (ps.data) RequireLength(env, ps, static_cast<size_t>(p.B * p.dout * p.din), "perSample");
  const Context ctx = ContextFor(OneDevice(env, "dp.linearGradNorms", {&A, &G, &w, &b, &ps}));
  return Run(env, GetBool(info[10], "async"), {info[0], info[1], info[7], info[8], info[9]},
             [=] { return LinearGradNorms(ctx, p, method, w.data, b.data, ps.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// dpClipFactors(norms, B, C, rule, factors, async)
Napi::Value ClipFactorsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer norms = GetBuffer(info[0], "norms");
  const int64_t B = GetInt(info[1], "B");
  const float C = static_cast<float>(GetNumber(info[2], "C"));
  const ClipRule rule = GetRule(info[3]);
  const Buffer f = GetBuffer(info[4], "factors");
  if (B < 0) Throw(env, Code::kShape, "B: expected >= 0");
  RequireLength(env, norms, static_cast<size_t>(B), "norms");
  RequireLength(env, f, static_cast<size_t>(B), "factors");
  const Context ctx = ContextFor(OneDevice(env, "dp.clipFactors", {&norms, &f}));
  return Run(env, GetBool(info[5], "async"), {info[0], info[4]},
             [=] { return ClipFactors(ctx, norms.data, B, C, rule, f.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// dpClippedLinearGrad(A, G, B, T, din, dout, factors, weight, bias | null, perSample | null, async)
Napi::Value ClippedLinearGradFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer A = GetBuffer(info[0], "A"), G = GetBuffer(info[1], "G");
  const LinearGradParams p = GetLinear(info, A, G, 2);
  const Buffer f = GetBuffer(info[6], "factors");
  const Buffer w = GetBuffer(info[7], "weight"), b = GetOptionalBuffer(info[8], "bias");
  const Buffer ps = GetOptionalBuffer(info[9], "perSample");
  RequireLength(env, f, static_cast<size_t>(p.B), "factors");
  RequireLength(env, w, static_cast<size_t>(p.din * p.dout), "weight");
  if (b.data) RequireLength(env, b, static_cast<size_t>(p.dout), "bias");
  if (ps.data) RequireLength(env, ps, static_cast<size_t>(p.B * p.dout * p.din), "perSample");
  const Context ctx = ContextFor(OneDevice(env, "dp.clippedLinearGrad", {&A, &G, &f, &w, &b, &ps}));
  return Run(env, GetBool(info[10], "async"), {info[0], info[1], info[6], info[7], info[8], info[9]},
             [=] { return ClippedLinearGrad(ctx, p, f.data, w.data, b.data, ps.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// dpClipRows(rows, B, p, C, rule, sum, factors, async)
Napi::Value ClipRowsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer rows = GetBuffer(info[0], "rows");
  const int64_t B = GetInt(info[1], "B"), p = GetInt(info[2], "p");
  const float C = static_cast<float>(GetNumber(info[3], "C"));
  const ClipRule rule = GetRule(info[4]);
  const Buffer sum = GetBuffer(info[5], "sum"), f = GetBuffer(info[6], "factors");
  if (B < 0 || p < 0) Throw(env, Code::kShape, "rows: expected B, p >= 0");
  RequireLength(env, rows, static_cast<size_t>(B * p), "rows");
  RequireLength(env, sum, static_cast<size_t>(p), "sum");
  RequireLength(env, f, static_cast<size_t>(B), "factors");
  const Context ctx = ContextFor(OneDevice(env, "dp.clipRows", {&rows, &sum, &f}));
  return Run(env, GetBool(info[7], "async"), {info[0], info[5], info[6]},
             [=] { return ClipRows(ctx, rows.data, B, p, C, rule, sum.data, f.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// dpAddNoise(t, n, std, seed, step, offset, secure, async): the seed is used here and dropped.
Napi::Value AddNoiseFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer t = GetBuffer(info[0], "t");
  const int64_t n = GetInt(info[1], "n");
  const float std = static_cast<float>(GetNumber(info[2], "std"));
  StreamId id;
  id.seed = GetSeed(info[3], "seed");
  const int64_t step = GetInt(info[4], "step");
  if (n < 0) Throw(env, Code::kShape, "t: expected n >= 0");
  if (step < 0 || step > 0xffffffffLL) Throw(env, Code::kRange, "step: expected an integer in [0, 2^32)");
  id.sub = static_cast<uint32_t>(step);
  id.tag = kTagDpNoise;
  const int64_t offset = GetInt(info[5], "offset");
  if (offset < 0) Throw(env, Code::kRange, "offset: expected >= 0");
  const bool secure = GetBool(info[6], "secure");
  RequireLength(env, t, static_cast<size_t>(n), "t");
  const Context ctx = ContextFor(t.device);
  return Run(env, GetBool(info[7], "async"), {info[0]},
             [=] { return AddNoise(ctx, t.data, n, std, id, static_cast<uint64_t>(offset), secure); },
             [](Napi::Env e) { return e.Undefined(); });
}

// dpChooseNormMethod(T, din, dout) → 1 (gram) or 2 (materialize): what auto resolves to.
Napi::Value ChooseNormMethodFn(const Napi::CallbackInfo& info) {
  const int64_t T = GetSize(info[0], "T"), din = GetSize(info[1], "din"), dout = GetSize(info[2], "dout");
  return Napi::Number::New(info.Env(), static_cast<double>(ChooseNormMethod(T, din, dout)));
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("dpChooseNormMethod", Napi::Function::New(env, ChooseNormMethodFn));
  exports.Set("dpLinearGradNorms", Napi::Function::New(env, LinearGradNormsFn));
  exports.Set("dpClipFactors", Napi::Function::New(env, ClipFactorsFn));
  exports.Set("dpClippedLinearGrad", Napi::Function::New(env, ClippedLinearGradFn));
  exports.Set("dpClipRows", Napi::Function::New(env, ClipRowsFn));
  exports.Set("dpAddNoise", Napi::Function::New(env, AddNoiseFn));
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
