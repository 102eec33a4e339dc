// slash family glue: unpack, check lengths and devices, run sync or async.
// lib/slash/ops.ts checked shapes and ranges; these checks are the second line.
#include <string>
#include <vector>

#include "common.h"
#include "frugal/slash.h"

namespace frugal {
namespace addon {
namespace {

// (seed, layers, dim, hidden, dist) starting at info[first].
ProjectionParams GetProjection(const Napi::CallbackInfo& info, int first) {
  ProjectionParams p;
  p.seed = GetSeed(info[first], "seed");
  p.layers = GetSize(info[first + 1], "layers");
  p.dim = GetSize(info[first + 2], "dim");
  p.hidden = GetSize(info[first + 3], "hidden");
  const int64_t dist = GetInt(info[first + 4], "dist");
  if (dist < 0 || dist > 1) Throw(info.Env(), Code::kRange, "dist: expected 0 (normal) or 1 (rademacher)");
  p.dist = static_cast<ProjectionDist>(dist);
  return p;
}

// slashProject(z, shifts, seed, layers, dim, hidden, dist, async)
Napi::Value ProjectFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer z = GetBuffer(info[0], "z"), shifts = GetBuffer(info[1], "shifts");
  const ProjectionParams p = GetProjection(info, 2);
  RequireLength(env, z, static_cast<size_t>(p.dim), "z");
  RequireLength(env, shifts, static_cast<size_t>(p.layers * p.hidden), "shifts");
  const Context ctx = ContextFor(OneDevice(env, "slash.project", {&z, &shifts}));
  return Run(env, GetBool(info[7], "async"), {info[0], info[1]},
             [=] { return SlashProject(ctx, p, z.data, shifts.data); }, [](Napi::Env e) { return e.Undefined(); });
}

// slashProjectBackward(g, dz, batch, seed, layers, dim, hidden, dist, async)
Napi::Value ProjectBackwardFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer g = GetBuffer(info[0], "g"), dz = GetBuffer(info[1], "dz");
  const int64_t batch = GetSize(info[2], "batch");
  const ProjectionParams p = GetProjection(info, 3);
  RequireLength(env, g, static_cast<size_t>(batch * p.layers * p.hidden), "g");
  RequireLength(env, dz, static_cast<size_t>(batch * p.dim), "dz");
  const Context ctx = ContextFor(OneDevice(env, "slash.projectBackward", {&g, &dz}));
  return Run(env, GetBool(info[8], "async"), {info[0], info[1]},
             [=] { return SlashProjectBackward(ctx, p, batch, g.data, dz.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// The block inputs (a, Wo, c, h, shift | null, gamma, beta) at info[0..6] and
// (rows, in, hidden, eps) at info[first..first+3]; buffers returned in `held`.
OutputBlockParams GetBlock(const Napi::CallbackInfo& info, int first, std::vector<Buffer>* held) {
  Napi::Env env = info.Env();
  static const char* const kNames[] = {"a", "Wo", "c", "h", "shift", "gamma", "beta"};
  for (int k = 0; k < 7; ++k) {
    held->push_back(k == 4 ? GetOptionalBuffer(info[k], kNames[k]) : GetBuffer(info[k], kNames[k]));
  }
  OutputBlockParams p;
  p.rows = GetSize(info[first], "rows");
  p.in = GetSize(info[first + 1], "in");
  p.hidden = GetSize(info[first + 2], "hidden");
  p.eps = static_cast<float>(GetNumber(info[first + 3], "eps"));
  const std::vector<Buffer>& b = *held;
  RequireLength(env, b[0], static_cast<size_t>(p.rows * p.in), "a");
  RequireLength(env, b[1], static_cast<size_t>(p.hidden * p.in), "Wo");
  RequireLength(env, b[2], static_cast<size_t>(p.hidden), "c");
  RequireLength(env, b[3], static_cast<size_t>(p.rows * p.hidden), "h");
  if (b[4].data) RequireLength(env, b[4], static_cast<size_t>(p.hidden), "shift");
  RequireLength(env, b[5], static_cast<size_t>(p.hidden), "gamma");
  RequireLength(env, b[6], static_cast<size_t>(p.hidden), "beta");
  p.a = b[0].data;
  p.Wo = b[1].data;
  p.c = b[2].data;
  p.h = b[3].data;
  p.shift = b[4].data;
  p.gamma = b[5].data;
  p.beta = b[6].data;
  return p;
}

std::vector<Napi::Value> Args(const Napi::CallbackInfo& info, int count) {
  std::vector<Napi::Value> v;
  for (int k = 0; k < count; ++k) v.push_back(info[k]);
  return v;
}

// slashOutputBlock(a, Wo, c, h, shift, gamma, beta, y, mean, rstd, rows, in, hidden, eps, async)
Napi::Value OutputBlockFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Buffer> in;
  const OutputBlockParams p = GetBlock(info, 10, &in);
  const Buffer y = GetBuffer(info[7], "y"), mean = GetBuffer(info[8], "mean"), rstd = GetBuffer(info[9], "rstd");
  RequireLength(env, y, static_cast<size_t>(p.rows * p.hidden), "y");
  RequireLength(env, mean, static_cast<size_t>(p.rows), "mean");
  RequireLength(env, rstd, static_cast<size_t>(p.rows), "rstd");
  const Context ctx = ContextFor(OneDevice(
      env, "slash.outputBlock", {&in[0], &in[1], &in[2], &in[3], &in[4], &in[5], &in[6], &y, &mean, &rstd}));
  return Run(env, GetBool(info[14], "async"), Args(info, 10),
             [=] { return SlashOutputBlock(ctx, p, y.data, mean.data, rstd.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// slashOutputBlockBackward(a, Wo, c, h, shift, gamma, beta, dy, y | null, mean, rstd,
//   rows, in, hidden, eps, dh, dc, dshift, dgamma, dbeta, perSample, tokensPerSample,
//   da, dWo, async); dc … dWo may be null (not asked).
Napi::Value OutputBlockBackwardFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Buffer> in;
  const OutputBlockParams p = GetBlock(info, 11, &in);
  const Buffer dy = GetBuffer(info[7], "dy"), y = GetOptionalBuffer(info[8], "y");
  const Buffer mean = GetBuffer(info[9], "mean"), rstd = GetBuffer(info[10], "rstd");
  const Buffer dh = GetBuffer(info[15], "dh");
  const Buffer dc = GetOptionalBuffer(info[16], "dc"), dshift = GetOptionalBuffer(info[17], "dShift");
  const Buffer dgamma = GetOptionalBuffer(info[18], "dGamma"), dbeta = GetOptionalBuffer(info[19], "dBeta");
  const Buffer per = GetOptionalBuffer(info[20], "dShiftPerSample");
  const int64_t tokens = GetSize(info[21], "tokensPerSample");
  const Buffer da = GetOptionalBuffer(info[22], "dA"), dWo = GetOptionalBuffer(info[23], "dWo");
  const size_t rh = static_cast<size_t>(p.rows * p.hidden), H = static_cast<size_t>(p.hidden);
  RequireLength(env, dy, rh, "dy");
  if (y.data) RequireLength(env, y, rh, "y");
  RequireLength(env, mean, static_cast<size_t>(p.rows), "mean");
  RequireLength(env, rstd, static_cast<size_t>(p.rows), "rstd");
  RequireLength(env, dh, rh, "dh");
  for (const Buffer* b : {&dc, &dshift, &dgamma, &dbeta}) {
    if (b->data) RequireLength(env, *b, H, "column gradient");
  }
  if (per.data) {
    if (tokens <= 0 || p.rows % tokens != 0) Throw(env, Code::kShape, "tokensPerSample: expected a divisor of rows");
    RequireLength(env, per, static_cast<size_t>(p.rows / tokens) * H, "dShiftPerSample");
  }
  if (da.data) RequireLength(env, da, static_cast<size_t>(p.rows * p.in), "dA");
  if (dWo.data) RequireLength(env, dWo, static_cast<size_t>(p.hidden * p.in), "dWo");
  OutputBlockGrads g;
  g.dh = dh.data;
  g.dc = dc.data;
  g.dshift = dshift.data;
  g.dgamma = dgamma.data;
  g.dbeta = dbeta.data;
  g.dshiftPerSample = per.data;
  g.tokensPerSample = tokens;
  g.da = da.data;
  g.dWo = dWo.data;
  const Context ctx = ContextFor(OneDevice(env, "slash.outputBlockBackward",
                                           {&in[0], &in[1], &in[2], &in[3], &in[4], &in[5], &in[6], &dy, &y, &mean,
                                            &rstd, &dh, &dc, &dshift, &dgamma, &dbeta, &per, &da, &dWo}));
  return Run(env, GetBool(info[24], "async"), Args(info, 24),
             [=] { return SlashOutputBlockBackward(ctx, p, dy.data, y.data, mean.data, rstd.data, g); },
             [](Napi::Env e) { return e.Undefined(); });
}

// slashFoldShift(c, shift, out, hidden, async)
Napi::Value FoldShiftFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Buffer c = GetBuffer(info[0], "c"), shift = GetBuffer(info[1], "shift"), out = GetBuffer(info[2], "out");
  const int64_t hidden = GetSize(info[3], "hidden");
  for (const Buffer* b : {&c, &shift, &out}) RequireLength(env, *b, static_cast<size_t>(hidden), "c, shift and out");
  const Context ctx = ContextFor(OneDevice(env, "slash.foldShift", {&c, &shift, &out}));
  return Run(env, GetBool(info[4], "async"), Args(info, 3),
             [=] { return SlashFoldShift(ctx, hidden, c.data, shift.data, out.data); },
             [](Napi::Env e) { return e.Undefined(); });
}

// slashPrompt(op, offsets, hidden, x, prompt | null, out | null, dprompt | null, async)
// op: 0 insert (x → out), 1 extract (x = dout → out = dx, dprompt), 2 add (x += prompt),
// 3 sum (dprompt = Σ prompt rows of x).
Napi::Value PromptFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t op = GetInt(info[0], "op");
  if (op < 0 || op > 3) Throw(env, Code::kRange, "op: expected 0..3");
  const Napi::Int32Array offsets = GetInt32Array(info[1], "offsets");
  if (offsets.ElementLength() < 1) Throw(env, Code::kShape, "offsets: expected at least one entry");
  const int64_t batch = static_cast<int64_t>(offsets.ElementLength()) - 1;
  const int64_t hidden = GetSize(info[2], "hidden");
  const Buffer x = GetBuffer(info[3], "x"), prompt = GetOptionalBuffer(info[4], "prompt");
  const Buffer out = GetOptionalBuffer(info[5], "out"), dprompt = GetOptionalBuffer(info[6], "dprompt");
  const int32_t* off = offsets.Data();
  if (off[0] != 0 || off[batch] < 0) Throw(env, Code::kShape, "offsets: expected offsets[0] = 0 and a total >= 0");
  const size_t total = static_cast<size_t>(off[batch]), H = static_cast<size_t>(hidden);
  const size_t inserted = (total + static_cast<size_t>(batch)) * H;
  switch (op) {
    case 0:
      RequireLength(env, x, total * H, "x");
      RequireLength(env, prompt, H, "prompt");
      RequireLength(env, out, inserted, "out");
      break;
    case 1:
      RequireLength(env, x, inserted, "dout");
      RequireLength(env, out, total * H, "dx");
      if (dprompt.data) RequireLength(env, dprompt, H, "dprompt");
      break;
    case 2:
      RequireLength(env, x, total * H, "x");
      RequireLength(env, prompt, H, "prompt");
      break;
    default:
      RequireLength(env, x, total * H, "x");
      RequireLength(env, dprompt, H, "dprompt");
  }
  const Context ctx = ContextFor(OneDevice(env, "slash.prompt", {&x, &prompt, &out, &dprompt}));
  return Run(env, GetBool(info[7], "async"), Args(info, 7),
             [=]() -> Status {
               switch (op) {
                 case 0: return SlashPromptInsert(ctx, off, batch, hidden, x.data, prompt.data, out.data);
                 case 1: return SlashPromptExtract(ctx, off, batch, hidden, x.data, out.data, dprompt.data);
                 case 2: return SlashPromptAdd(ctx, off, batch, hidden, x.data, prompt.data);
                 default: return SlashPromptSum(ctx, off, batch, hidden, x.data, dprompt.data);
               }
             },
             [](Napi::Env e) { return e.Undefined(); });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("slashProject", Napi::Function::New(env, ProjectFn));
  exports.Set("slashProjectBackward", Napi::Function::New(env, ProjectBackwardFn));
  exports.Set("slashOutputBlock", Napi::Function::New(env, OutputBlockFn));
  exports.Set("slashOutputBlockBackward", Napi::Function::New(env, OutputBlockBackwardFn));
  exports.Set("slashFoldShift", Napi::Function::New(env, FoldShiftFn));
  exports.Set("slashPrompt", Napi::Function::New(env, PromptFn));
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
