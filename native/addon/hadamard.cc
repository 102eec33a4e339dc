// Hadamard module glue (lib/hadamard/): the modules' layouts, and GHPA / GAB
// forward and backward over flat parameter and gradient buffers laid out as the
// layouts say. Shapes were checked in TypeScript; these checks are the second line.
#include <vector>

#include "common.h"
#include "frugal/hadamard.h"

namespace frugal {
namespace addon {
namespace {

Napi::Value LayoutArray(Napi::Env env, const std::vector<ModuleTensor>& layout) {
  Napi::Array out = Napi::Array::New(env, layout.size());
  for (size_t i = 0; i < layout.size(); ++i) {
    const ModuleTensor& t = layout[i];
    Napi::Object o = Napi::Object::New(env);
    Napi::Array shape = Napi::Array::New(env, static_cast<size_t>(t.rank));
    for (int d = 0; d < t.rank; ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(t.dims[d]));
    o.Set("key", t.key);
    o.Set("shape", shape);
    o.Set("offset", static_cast<double>(t.offset));
    o.Set("size", static_cast<double>(t.size));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

size_t Floats(const std::vector<ModuleTensor>& layout) {
  return layout.empty() ? 0 : static_cast<size_t>(layout.back().offset + layout.back().size);
}

constexpr int64_t kMaxChannels = int64_t{1} << 20;

Napi::Value GhpaLayoutFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.ghpaLayout");
  const int64_t C = args.Int("C", 4, kMaxChannels), O = args.Int("O", 1, kMaxChannels);
  args.Done();
  return LayoutArray(info.Env(), GhpaLayout(C, O));
}

Napi::Value GabLayoutFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.gabLayout");
  const int64_t Ch = args.Int("Ch", 1, kMaxChannels), Cl = args.Int("Cl", 4, kMaxChannels);
  args.Done();
  return LayoutArray(info.Env(), GabLayout(Ch, Cl));
}

// Sizes of the saved and maps buffers, for the TypeScript side to allocate.
Napi::Value HadamardSizesFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.sizes");
  const int64_t B = args.Size("B"), C = args.Size("C"), O = args.Size("O"), H = args.Size("H"), W = args.Size("W");
  const int64_t h = args.Size("h"), w = args.Size("w");
  args.Done();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("ghpaMaps", static_cast<double>(GhpaMapsFloats({B, C, O, H, W})));
  o.Set("ghpaSaved", static_cast<double>(GhpaSavedFloats({B, C, O, H, W})));
  // For GAB, C is Ch and O is Cl.
  o.Set("gabSaved", static_cast<double>(GabSavedFloats({B, C, O, h, w, H, W})));
  return o;
}

GhpaShape ReadGhpaShape(Args& args) {
  GhpaShape s;
  s.B = args.Size("B"), s.C = args.Int("C", 4, kMaxChannels), s.O = args.Int("O", 1, kMaxChannels);
  s.H = args.Size("H"), s.W = args.Size("W");
  if (s.C % 4 != 0) args.Fail(Code::kShape, "C", "expected a multiple of 4");
  return s;
}

Napi::Value GhpaMapsFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.ghpaMaps");
  GhpaMapsParams p;
  p.shape = ReadGhpaShape(args);
  p.w = GhpaWeightsAt(args.Tensor("params", Floats(GhpaLayout(p.shape.C, p.shape.O))), p.shape.C, p.shape.O);
  p.maps = args.Tensor("maps", static_cast<size_t>(GhpaMapsFloats(p.shape)));
  args.Apart("maps", {"params"});
  const Context ctx = args.context();
  return args.Run([=] { return GhpaMaps(ctx, p); });
}

Napi::Value GhpaFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.ghpa");
  GhpaParams p;
  p.shape = ReadGhpaShape(args);
  const GhpaShape& s = p.shape;
  p.w = GhpaWeightsAt(args.Tensor("params", Floats(GhpaLayout(s.C, s.O))), s.C, s.O);
  p.x = args.Tensor("x", args.Count({s.B, s.C, s.H, s.W}));
  p.maps = args.OptionalTensor("maps", static_cast<size_t>(GhpaMapsFloats(s)));
  p.y = args.Tensor("y", args.Count({s.B, s.O, s.H, s.W}));
  p.saved = args.OptionalTensor("saved", static_cast<size_t>(GhpaSavedFloats(s)));
  args.Apart("y", {"params", "x", "maps"});
  if (p.saved) args.Apart("saved", {"params", "x", "maps", "y"});
  const Context ctx = args.context();
  return args.Run([=] { return Ghpa(ctx, p); });
}

Napi::Value GhpaBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.ghpaBackward");
  GhpaBackwardParams p;
  p.shape = ReadGhpaShape(args);
  const GhpaShape& s = p.shape;
  const size_t params = Floats(GhpaLayout(s.C, s.O));
  p.w = GhpaWeightsAt(args.Tensor("params", params), s.C, s.O);
  p.x = args.Tensor("x", args.Count({s.B, s.C, s.H, s.W}));
  p.saved = args.Tensor("saved", static_cast<size_t>(GhpaSavedFloats(s)));
  p.dy = args.Tensor("dy", args.Count({s.B, s.O, s.H, s.W}));
  p.dx = args.Tensor("dx", args.Count({s.B, s.C, s.H, s.W}));
  p.grads = GhpaGradsAt(args.Tensor("dparams", params), s.C, s.O);
  for (const char* out : {"dx", "dparams"}) args.Apart(out, {"params", "x", "saved", "dy"});
  args.Apart("dx", {"dparams"});
  const Context ctx = args.context();
  return args.Run([=] { return GhpaBackward(ctx, p); });
}

GabShape ReadGabShape(Args& args) {
  GabShape s;
  s.B = args.Size("B"), s.Ch = args.Int("Ch", 1, kMaxChannels), s.Cl = args.Int("Cl", 4, kMaxChannels);
  s.h = args.Size("h"), s.w = args.Size("w"), s.H = args.Size("H"), s.W = args.Size("W");
  if (s.Cl % 4 != 0) args.Fail(Code::kShape, "Cl", "expected a multiple of 4");
  return s;
}

Napi::Value GabFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.gab");
  GabParams p;
  p.shape = ReadGabShape(args);
  const GabShape& s = p.shape;
  p.w = GabWeightsAt(args.Tensor("params", Floats(GabLayout(s.Ch, s.Cl))), s.Ch, s.Cl);
  p.xh = args.Tensor("xh", args.Count({s.B, s.Ch, s.h, s.w}));
  p.xl = args.Tensor("xl", args.Count({s.B, s.Cl, s.H, s.W}));
  p.mask = args.Tensor("mask", args.Count({s.B, s.H, s.W}));
  p.y = args.Tensor("y", args.Count({s.B, s.Cl, s.H, s.W}));
  p.saved = args.OptionalTensor("saved", static_cast<size_t>(GabSavedFloats(s)));
  args.Apart("y", {"params", "xh", "xl", "mask"});
  if (p.saved) args.Apart("saved", {"params", "xh", "xl", "mask", "y"});
  const Context ctx = args.context();
  return args.Run([=] { return Gab(ctx, p); });
}

Napi::Value GabBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "hadamard.gabBackward");
  GabBackwardParams p;
  p.shape = ReadGabShape(args);
  const GabShape& s = p.shape;
  const size_t params = Floats(GabLayout(s.Ch, s.Cl));
  p.w = GabWeightsAt(args.Tensor("params", params), s.Ch, s.Cl);
  p.xh = args.Tensor("xh", args.Count({s.B, s.Ch, s.h, s.w}));
  p.saved = args.Tensor("saved", static_cast<size_t>(GabSavedFloats(s)));
  p.dy = args.Tensor("dy", args.Count({s.B, s.Cl, s.H, s.W}));
  p.dxh = args.Tensor("dxh", args.Count({s.B, s.Ch, s.h, s.w}));
  p.dxl = args.Tensor("dxl", args.Count({s.B, s.Cl, s.H, s.W}));
  p.dmask = args.Tensor("dmask", args.Count({s.B, s.H, s.W}));
  p.grads = GabGradsAt(args.Tensor("dparams", params), s.Ch, s.Cl);
  for (const char* out : {"dxh", "dxl", "dmask", "dparams"}) args.Apart(out, {"params", "xh", "saved", "dy"});
  args.Apart("dxh", {"dxl", "dmask", "dparams"});
  args.Apart("dxl", {"dmask", "dparams"});
  args.Apart("dmask", {"dparams"});
  const Context ctx = args.context();
  return args.Run([=] { return GabBackward(ctx, p); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "ghpaLayout", GhpaLayoutFn);
  Export(env, exports, "gabLayout", GabLayoutFn);
  Export(env, exports, "hadamardSizes", HadamardSizesFn);
  Export(env, exports, "ghpaMaps", GhpaMapsFn);
  Export(env, exports, "ghpa", GhpaFn);
  Export(env, exports, "ghpaBackward", GhpaBackwardFn);
  Export(env, exports, "gab", GabFn);
  Export(env, exports, "gabBackward", GabBackwardFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
