// Path attention glue: the arguments of lib/path_attention/ops.ts's …Args
// interfaces, read by name. The int32 arrays (lengths, offsets, keep) are host
// Int32Arrays whatever the tensors' device; shapes were checked in TypeScript and
// the core checks the layout in full. Outputs are allocated by the caller.
#include "common.h"
#include "frugal/path_attention.h"

namespace frugal {
namespace addon {
namespace {

int32_t* Ints(Args& args, const char* key, int64_t need) {
  size_t length = 0;
  int32_t* v = args.Int32s(key, &length);
  if (length < static_cast<size_t>(need)) args.Fail(Code::kShape, key, "expected at least " + std::to_string(need) + " entries");
  return v;
}

PathKeepParams ReadKeep(Args& args) {
  PathKeepParams p;
  size_t paths = 0;
  p.lengths = args.Int32s("lengths", &paths);
  p.paths = static_cast<int64_t>(paths);
  p.ratio = args.Number("ratio");
  p.offsets = Ints(args, "offsets", p.paths + 1);
  return p;
}

// pathKeepCounts: the offsets alone, so TypeScript can size keep.
Napi::Value KeepCountsFn(const Napi::CallbackInfo& info) {
  Args args(info, "pathAttention.keep");
  const PathKeepParams p = ReadKeep(args);
  return args.Run([=] { return PathKeep(p); });
}

Napi::Value KeepFn(const Napi::CallbackInfo& info) {
  Args args(info, "pathAttention.keep");
  PathKeepParams p = ReadKeep(args);
  p.seed = args.Seed("seed");
  size_t kept = 0;
  p.keep = args.Int32s("keep", &kept);
  int64_t want = 0;
  for (int64_t b = 0; b < p.paths; ++b) want += PathKeptCount(p.lengths[b], p.ratio);
  if (static_cast<int64_t>(kept) < want) args.Fail(Code::kShape, "keep", "expected at least " + std::to_string(want) + " entries");
  return args.Run([=] { return PathKeep(p); });
}

// The two packings and keep, read first by gather, restore and the removed sum.
struct Layout {
  HostOffsets all, kept;
  const int32_t* keep;
  int64_t dim;
};

Layout ReadLayout(Args& args) {
  Layout l;
  l.all = ReadOffsets(args, "lengthsOffsets");
  l.kept = ReadOffsets(args, "offsets");
  if (l.kept.batch != l.all.batch) args.Fail(Code::kShape, "offsets", "expected as many paths as lengthsOffsets");
  l.keep = Ints(args, "keep", l.kept.total);
  l.dim = args.Size("dim");
  return l;
}

Napi::Value GatherFn(const Napi::CallbackInfo& info) {
  Args args(info, "pathAttention.gather");
  const Layout l = ReadLayout(args);
  const PathGatherParams p{l.all.batch, l.dim, l.all.offsets, l.kept.offsets, l.keep,
                           args.Tensor("x", args.Count({l.all.total, l.dim})),
                           args.Tensor("kept", args.Count({l.kept.total, l.dim}))};
  args.Apart("kept", {"x"});
  const Context ctx = args.context();
  return args.Run([=] { return PathGather(ctx, p); });
}

Napi::Value RestoreFn(const Napi::CallbackInfo& info) {
  Args args(info, "pathAttention.restore");
  const Layout l = ReadLayout(args);
  const PathRestoreParams p{l.all.batch, l.dim, l.all.offsets, l.kept.offsets, l.keep,
                            args.Tensor("kept", args.Count({l.kept.total, l.dim})),
                            args.OptionalTensor("fill", static_cast<size_t>(l.dim)),
                            args.Tensor("full", args.Count({l.all.total, l.dim}))};
  args.Apart("full", {"kept", "fill"});
  const Context ctx = args.context();
  return args.Run([=] { return PathRestore(ctx, p); });
}

Napi::Value RemovedSumFn(const Napi::CallbackInfo& info) {
  Args args(info, "pathAttention.restoreBackward");
  const Layout l = ReadLayout(args);
  const PathRemovedSumParams p{l.all.batch, l.dim, l.all.offsets, l.kept.offsets, l.keep,
                               args.Tensor("dFull", args.Count({l.all.total, l.dim})),
                               args.Tensor("dFill", static_cast<size_t>(l.dim))};
  args.Apart("dFill", {"dFull"});
  const Context ctx = args.context();
  return args.Run([=] { return PathRemovedSum(ctx, p); });
}

// Shapes common to both attention directions. With `fused`, q, k and v are one
// [total, 3, heads, head_dim] tensor sent under each key: k and v start one and two
// widths in, and rows are 3 widths apart.
struct Heads {
  HostOffsets packed;
  int64_t heads, head_dim, width, stride;
  float scale;
  bool fused;
  size_t in_floats, out_floats, lse_floats;
};

Heads ReadHeads(Args& args) {
  Heads h;
  h.packed = ReadOffsets(args, "offsets");
  h.heads = args.Size("heads");
  h.head_dim = args.Size("headDim");
  h.scale = args.Float("scale");
  h.fused = args.Bool("fusedQkv");
  h.width = h.heads * h.head_dim;
  h.stride = h.fused ? 3 * h.width : h.width;
  h.in_floats = args.Count({h.packed.total, h.stride});
  h.out_floats = args.Count({h.packed.total, h.width});
  h.lse_floats = args.Count({h.packed.total, h.heads});
  return h;
}

// The k and v of a fused tensor start one and two widths after q.
int64_t Shift(const Heads& h, int which) { return h.fused ? which * h.width : 0; }

// The fields the forward and the backward share: layout, q, k, v and the forward's out and lse.
template <class Params>
void ReadForwardTensors(Args& args, const Heads& h, Params& p) {
  p.paths = h.packed.batch, p.heads = h.heads, p.head_dim = h.head_dim, p.offsets = h.packed.offsets;
  p.scale = h.scale, p.qkv_stride = h.stride;
  p.q = args.Tensor("q", h.in_floats);
  p.k = args.Tensor("k", h.in_floats) + Shift(h, 1);
  p.v = args.Tensor("v", h.in_floats) + Shift(h, 2);
  p.out = args.Tensor("out", h.out_floats);
  p.lse = args.Tensor("lse", h.lse_floats);
}

Napi::Value AttentionFn(const Napi::CallbackInfo& info) {
  Args args(info, "pathAttention.attention");
  const Heads h = ReadHeads(args);
  PathAttentionParams p;
  ReadForwardTensors(args, h, p);
  args.Apart("out", {"q", "k", "v", "lse"});
  args.Apart("lse", {"q", "k", "v"});
  const Context ctx = args.context();
  return args.Run([=] { return PathAttention(ctx, p); });
}

Napi::Value AttentionBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "pathAttention.attentionBackward");
  const Heads h = ReadHeads(args);
  PathAttentionBackwardParams p;
  ReadForwardTensors(args, h, p);
  p.dout = args.Tensor("dout", h.out_floats);
  p.dq = args.Tensor("dq", h.in_floats);
  p.dk = args.Tensor("dk", h.in_floats) + Shift(h, 1);
  p.dv = args.Tensor("dv", h.in_floats) + Shift(h, 2);
  for (const char* g : {"dq", "dk", "dv"}) args.Apart(g, {"q", "k", "v", "out", "lse", "dout"});
  if (!h.fused) {
    args.Apart("dq", {"dk", "dv"});
    args.Apart("dk", {"dv"});
  }
  const Context ctx = args.context();
  return args.Run([=] { return PathAttentionBackward(ctx, p); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "pathKeepCounts", KeepCountsFn);
  Export(env, exports, "pathKeep", KeepFn);
  Export(env, exports, "pathGather", GatherFn);
  Export(env, exports, "pathRestore", RestoreFn);
  Export(env, exports, "pathRemovedSum", RemovedSumFn);
  Export(env, exports, "pathAttention", AttentionFn);
  Export(env, exports, "pathAttentionBackward", AttentionBackwardFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
