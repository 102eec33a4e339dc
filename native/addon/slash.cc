// slash family glue: the arguments of lib/slash/ops.ts's …Args interfaces, read
// by name. TypeScript checked shapes and ranges; these checks are the second line.
#include "common.h"
#include "frugal/slash.h"

namespace frugal {
namespace addon {
namespace {

// seed, layers, dim, hidden, dist: the projection every W_l is regenerated from.
ProjectionParams ReadProjection(Args& args) {
  ProjectionParams p;
  p.seed = args.Seed("seed");
  p.layers = args.Size("layers");
  p.dim = args.Size("dim");
  p.hidden = args.Size("hidden");
  p.dist = args.Enum<ProjectionDist>("dist", {{"normal", ProjectionDist::kNormal}, {"rademacher", ProjectionDist::kRademacher}});
  return p;
}

Napi::Value ProjectFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.project");
  const ProjectionParams p = ReadProjection(args);
  const float* z = args.Tensor("z", static_cast<size_t>(p.dim));
  float* shifts = args.Tensor("shifts", args.Count({p.layers, p.hidden}));
  args.Apart("shifts", {"z"});
  const Context ctx = args.context();
  return args.Run([=] { return SlashProject(ctx, p, z, shifts); });
}

Napi::Value ProjectBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.projectBackward");
  const ProjectionParams p = ReadProjection(args);
  const int64_t batch = args.Size("batch");
  const float* g = args.Tensor("g", args.Count({batch, p.layers, p.hidden}));
  float* dz = args.Tensor("dz", args.Count({batch, p.dim}));
  args.Apart("dz", {"g"});
  const Context ctx = args.context();
  return args.Run([=] { return SlashProjectBackward(ctx, p, batch, g, dz); });
}

// The block's sizes (rows, inner, hidden), eps and inputs a, Wo, c, h, shift?, gamma, beta.
OutputBlockParams ReadBlock(Args& args) {
  OutputBlockParams p;
  p.rows = args.Size("rows");
  p.in = args.Size("inner");
  p.hidden = args.Size("hidden");
  p.eps = args.Float("eps");
  const size_t H = static_cast<size_t>(p.hidden);
  p.a = args.Tensor("a", args.Count({p.rows, p.in}));
  p.Wo = args.Tensor("Wo", args.Count({p.hidden, p.in}));
  p.c = args.Tensor("c", H);
  p.h = args.Tensor("h", args.Count({p.rows, p.hidden}));
  p.shift = args.OptionalTensor("shift", H);
  p.gamma = args.Tensor("gamma", H);
  p.beta = args.Tensor("beta", H);
  return p;
}

Napi::Value OutputBlockFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.outputBlock");
  const OutputBlockParams p = ReadBlock(args);
  const size_t rows = static_cast<size_t>(p.rows);
  float* y = args.Tensor("y", args.Count({p.rows, p.hidden}));
  float* mean = args.Tensor("mean", rows);
  float* rstd = args.Tensor("rstd", rows);
  const Context ctx = args.context();
  return args.Run([=] { return SlashOutputBlock(ctx, p, y, mean, rstd); });
}

// The gradients not asked for (dc … dWo) are null.
Napi::Value OutputBlockBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.outputBlockBackward");
  const OutputBlockParams p = ReadBlock(args);
  const size_t rh = args.Count({p.rows, p.hidden}), H = static_cast<size_t>(p.hidden), rows = static_cast<size_t>(p.rows);
  const float* dy = args.Tensor("dy", rh);
  const float* y = args.OptionalTensor("y", rh);
  const float* mean = args.Tensor("mean", rows);
  const float* rstd = args.Tensor("rstd", rows);
  OutputBlockGrads g;
  g.dh = args.Tensor("dh", rh);
  g.dc = args.OptionalTensor("dc", H);
  g.dshift = args.OptionalTensor("dShift", H);
  g.dgamma = args.OptionalTensor("dGamma", H);
  g.dbeta = args.OptionalTensor("dBeta", H);
  g.tokensPerSample = args.Size("tokensPerSample");
  const bool per_sample = g.tokensPerSample > 0 && p.rows % g.tokensPerSample == 0;
  g.dshiftPerSample = args.OptionalTensor("dShiftPerSample", per_sample ? static_cast<size_t>(p.rows / g.tokensPerSample) * H : 0);
  if (g.dshiftPerSample && !per_sample) args.Fail(Code::kShape, "tokensPerSample", "expected a divisor of rows");
  g.da = args.OptionalTensor("dA", args.Count({p.rows, p.in}));
  g.dWo = args.OptionalTensor("dWo", args.Count({p.hidden, p.in}));
  const Context ctx = args.context();
  return args.Run([=] { return SlashOutputBlockBackward(ctx, p, dy, y, mean, rstd, g); });
}

// n is the element count of c, shift and out.
Napi::Value FoldShiftFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.foldShift");
  const int64_t n = args.Size("n");
  const float* c = args.Tensor("c", static_cast<size_t>(n));
  const float* shift = args.Tensor("shift", static_cast<size_t>(n));
  float* out = args.Tensor("out", static_cast<size_t>(n));
  const Context ctx = args.context();
  return args.Run([=] { return SlashFoldShift(ctx, n, c, shift, out); });
}

// A packed batch: offsets [batch + 1] (host Int32Array) and hidden; *tokens is the
// total token count offsets[batch] (the core checks the offsets in full).
struct Packed {
  const int32_t* offsets;
  int64_t batch, hidden;
  size_t tokens;
};
Packed ReadPacked(Args& args) {
  const HostOffsets o = ReadOffsets(args, "offsets");
  return Packed{o.offsets, o.batch, args.Size("hidden"), static_cast<size_t>(o.total)};
}

// x [tokens, hidden] → out [tokens + batch, hidden] with the prompt row first in every sample.
Napi::Value PromptInsertFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.promptInsert");
  const Packed k = ReadPacked(args);
  const float* x = args.Tensor("x", args.Count({static_cast<int64_t>(k.tokens), k.hidden}));
  const float* prompt = args.Tensor("prompt", static_cast<size_t>(k.hidden));
  float* out = args.Tensor("out", args.Count({static_cast<int64_t>(k.tokens) + k.batch, k.hidden}));
  const Context ctx = args.context();
  return args.Run([=] { return SlashPromptInsert(ctx, k.offsets, k.batch, k.hidden, x, prompt, out); });
}

// The backward of insert: dout → dx and (when asked) dprompt.
Napi::Value PromptExtractFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.promptInsertBackward");
  const Packed k = ReadPacked(args);
  const float* dout = args.Tensor("dout", args.Count({static_cast<int64_t>(k.tokens) + k.batch, k.hidden}));
  float* dx = args.Tensor("dx", args.Count({static_cast<int64_t>(k.tokens), k.hidden}));
  float* dprompt = args.OptionalTensor("dPrompt", static_cast<size_t>(k.hidden));
  const Context ctx = args.context();
  return args.Run([=] { return SlashPromptExtract(ctx, k.offsets, k.batch, k.hidden, dout, dx, dprompt); });
}

// x += prompt on the first token of every sample.
Napi::Value PromptAddFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.promptAdd");
  const Packed k = ReadPacked(args);
  float* x = args.Tensor("x", args.Count({static_cast<int64_t>(k.tokens), k.hidden}));
  const float* prompt = args.Tensor("prompt", static_cast<size_t>(k.hidden));
  const Context ctx = args.context();
  return args.Run([=] { return SlashPromptAdd(ctx, k.offsets, k.batch, k.hidden, x, prompt); });
}

// dprompt = Σ over samples of x's first token (the backward of add).
Napi::Value PromptSumFn(const Napi::CallbackInfo& info) {
  Args args(info, "slash.promptAddBackward");
  const Packed k = ReadPacked(args);
  const float* x = args.Tensor("x", args.Count({static_cast<int64_t>(k.tokens), k.hidden}));
  float* dprompt = args.Tensor("dPrompt", static_cast<size_t>(k.hidden));
  const Context ctx = args.context();
  return args.Run([=] { return SlashPromptSum(ctx, k.offsets, k.batch, k.hidden, x, dprompt); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "slashProject", ProjectFn);
  Export(env, exports, "slashProjectBackward", ProjectBackwardFn);
  Export(env, exports, "slashOutputBlock", OutputBlockFn);
  Export(env, exports, "slashOutputBlockBackward", OutputBlockBackwardFn);
  Export(env, exports, "slashFoldShift", FoldShiftFn);
  Export(env, exports, "slashPromptInsert", PromptInsertFn);
  Export(env, exports, "slashPromptInsertBackward", PromptExtractFn);
  Export(env, exports, "slashPromptAdd", PromptAddFn);
  Export(env, exports, "slashPromptAddBackward", PromptSumFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
