// Feature-map glue: the arguments of lib/feature_map/*.ts's …Args interfaces,
// read by name. Every map is a dense NCHW tensor (batch_stride 0); shapes, sizes,
// dilations and paddings were checked in TypeScript and the core checks them
// again in full. Outputs are allocated by the caller and written in place.
#include "common.h"
#include "frugal/feature_map.h"

namespace frugal {
namespace addon {
namespace {

// B, C, H, W of the input map, and its element count.
MapShape ReadShape(Args& args) {
  MapShape s;
  s.B = args.Size("B");
  s.C = args.Size("C");
  s.H = args.Size("H");
  s.W = args.Size("W");
  return s;
}

size_t Floats(const Args& args, const MapShape& s) { return args.Count({s.B, s.C, s.H, s.W}); }
size_t Floats(const Args& args, int64_t B, int64_t C, int64_t H, int64_t W) { return args.Count({B, C, H, W}); }
size_t C(const MapShape& s) { return static_cast<size_t>(s.C); }

MapIn In(const float* data) { return MapIn{data, 0}; }
MapOut Out(float* data) { return MapOut{data, 0}; }

// ---- channel LayerNorm and GroupNorm --------------------------------------------------

Napi::Value ChannelNormFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.channelNorm");
  ChannelNormParams p;
  p.shape = ReadShape(args);
  p.groups = args.Int("groups", 1, int64_t{1} << 40);
  p.eps = args.Float("eps");
  const size_t n = Floats(args, p.shape), pixels = args.Count({p.shape.B, p.groups, p.shape.H, p.shape.W});
  p.x = In(args.Tensor("x", n));
  p.gamma = args.Tensor("weight", C(p.shape));
  p.beta = args.Tensor("bias", C(p.shape));
  p.y = Out(args.Tensor("y", n));
  p.mean = args.Tensor("mean", pixels);
  p.rstd = args.Tensor("rstd", pixels);
  args.InPlaceOrApart("y", {"x"});
  args.Apart("y", {"weight", "bias", "mean", "rstd"});
  args.Apart("mean", {"x", "weight", "bias", "rstd"});
  args.Apart("rstd", {"x", "weight", "bias"});
  const Context ctx = args.context();
  return args.Run([=] { return ChannelNorm(ctx, p); });
}

Napi::Value ChannelNormBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.channelNormBackward");
  ChannelNormBackwardParams p;
  p.shape = ReadShape(args);
  p.groups = args.Int("groups", 1, int64_t{1} << 40);
  const size_t n = Floats(args, p.shape), pixels = args.Count({p.shape.B, p.groups, p.shape.H, p.shape.W});
  p.dy = In(args.Tensor("dy", n));
  p.x = In(args.Tensor("x", n));
  p.gamma = args.Tensor("weight", C(p.shape));
  p.mean = args.Tensor("mean", pixels);
  p.rstd = args.Tensor("rstd", pixels);
  p.dx = Out(args.Tensor("dx", n));
  p.dgamma = args.Tensor("dweight", C(p.shape));
  p.dbeta = args.Tensor("dbias", C(p.shape));
  args.InPlaceOrApart("dx", {"dy"});
  args.Apart("dx", {"x", "weight", "mean", "rstd", "dweight", "dbias"});
  for (const char* g : {"dweight", "dbias"}) args.Apart(g, {"dy", "x", "weight", "mean", "rstd"});
  args.Apart("dweight", {"dbias"});
  const Context ctx = args.context();
  return args.Run([=] { return ChannelNormBackward(ctx, p); });
}

Napi::Value GroupNormFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.groupNorm");
  GroupNormParams p;
  p.shape = ReadShape(args);
  p.groups = args.Int("groups", 1, int64_t{1} << 40);
  p.eps = args.Float("eps");
  const size_t n = Floats(args, p.shape), stats = args.Count({p.shape.B, p.groups});
  p.x = In(args.Tensor("x", n));
  p.gamma = args.Tensor("weight", C(p.shape));
  p.beta = args.Tensor("bias", C(p.shape));
  p.y = Out(args.Tensor("y", n));
  p.mean = args.Tensor("mean", stats);
  p.rstd = args.Tensor("rstd", stats);
  // GroupNorm's y is written after its group's statistics are read: never in place.
  args.Apart("y", {"x", "weight", "bias", "mean", "rstd"});
  args.Apart("mean", {"x", "weight", "bias", "rstd"});
  args.Apart("rstd", {"x", "weight", "bias"});
  const Context ctx = args.context();
  return args.Run([=] { return GroupNorm(ctx, p); });
}

Napi::Value GroupNormBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.groupNormBackward");
  GroupNormBackwardParams p;
  p.shape = ReadShape(args);
  p.groups = args.Int("groups", 1, int64_t{1} << 40);
  const size_t n = Floats(args, p.shape), stats = args.Count({p.shape.B, p.groups});
  p.dy = In(args.Tensor("dy", n));
  p.x = In(args.Tensor("x", n));
  p.gamma = args.Tensor("weight", C(p.shape));
  p.mean = args.Tensor("mean", stats);
  p.rstd = args.Tensor("rstd", stats);
  p.dx = Out(args.Tensor("dx", n));
  p.dgamma = args.Tensor("dweight", C(p.shape));
  p.dbeta = args.Tensor("dbias", C(p.shape));
  // GroupNorm's dx reads dy again after the group sums: never in place.
  args.Apart("dx", {"dy", "x", "weight", "mean", "rstd", "dweight", "dbias"});
  for (const char* g : {"dweight", "dbias"}) args.Apart(g, {"dy", "x", "weight", "mean", "rstd"});
  args.Apart("dweight", {"dbias"});
  const Context ctx = args.context();
  return args.Run([=] { return GroupNormBackward(ctx, p); });
}

// ---- depthwise and dense convolutions ----------------------------------------------------

// The depthwise conv's geometry: kernel, dilation, padding per axis, and the output size.
struct Depthwise {
  int64_t kh, kw, dil_h, dil_w, pad_h, pad_w, out_h, out_w;
};

constexpr int64_t kMaxInt = (int64_t{1} << 31) - 1;

Depthwise ReadDepthwise(Args& args, const MapShape& s) {
  Depthwise d;
  d.kh = args.Int("kh", 1, kMaxInt);
  d.kw = args.Int("kw", 1, kMaxInt);
  d.dil_h = args.Int("dilationH", 1, kMaxInt);
  d.dil_w = args.Int("dilationW", 1, kMaxInt);
  d.pad_h = args.Int("paddingH", 0, kMaxInt);
  d.pad_w = args.Int("paddingW", 0, kMaxInt);
  d.out_h = ConvOutputSize(s.H, d.kh, d.dil_h, d.pad_h);
  d.out_w = ConvOutputSize(s.W, d.kw, d.dil_w, d.pad_w);
  if (d.out_h < 1 || d.out_w < 1) args.Fail(Code::kShape, "H", "the kernel, dilation and padding leave an output smaller than 1");
  return d;
}

template <class Params>
void SetDepthwise(Params& p, const MapShape& s, const Depthwise& d) {
  p.shape = s;
  p.kh = d.kh, p.kw = d.kw, p.dil_h = d.dil_h, p.dil_w = d.dil_w, p.pad_h = d.pad_h, p.pad_w = d.pad_w;
}

// The tensors both convs (depthwise and dense) read, given the floats of x, of the
// weight, of the bias and of the output: the forward's x, weight, optional bias,
// y and optional pre (kept with gelu only)…
template <class Params>
void ReadConvForward(Args& args, Params& p, size_t in, size_t weights, size_t bias, size_t out) {
  p.gelu = args.Bool("gelu");
  p.x = In(args.Tensor("x", in));
  p.weight = args.Tensor("weight", weights);
  p.bias = args.OptionalTensor("bias", bias);
  p.y = Out(args.Tensor("y", out));
  p.pre = args.OptionalTensor("pre", out);
  if (p.pre && !p.gelu) args.Fail(Code::kConfig, "pre", "only kept with gelu");
  args.Apart("y", {"x", "weight", "bias", "pre"});
  args.Apart("pre", {"x", "weight", "bias"});
}

// …and the backward's dy, x, weight, pre (required with gelu), dx, dweight, dbias.
template <class Params>
void ReadConvBackward(Args& args, Params& p, size_t in, size_t weights, size_t bias, size_t out) {
  p.gelu = args.Bool("gelu");
  p.dy = In(args.Tensor("dy", out));
  p.x = In(args.Tensor("x", in));
  p.weight = args.Tensor("weight", weights);
  p.pre = args.OptionalTensor("pre", out);
  if (p.gelu != (p.pre != nullptr)) args.Fail(Code::kConfig, "pre", p.gelu ? "required with gelu" : "only read with gelu");
  p.dx = Out(args.Tensor("dx", in));
  p.dweight = args.Tensor("dweight", weights);
  p.dbias = args.Tensor("dbias", bias);
  for (const char* g : {"dx", "dweight", "dbias"}) args.Apart(g, {"dy", "x", "weight", "pre"});
  args.Apart("dx", {"dweight", "dbias"});
  args.Apart("dweight", {"dbias"});
}

Napi::Value DepthwiseConvFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.depthwiseConv");
  const MapShape s = ReadShape(args);
  const Depthwise d = ReadDepthwise(args, s);
  DepthwiseConvParams p;
  SetDepthwise(p, s, d);
  ReadConvForward(args, p, Floats(args, s), args.Count({s.C, d.kh, d.kw}), C(s), Floats(args, s.B, s.C, d.out_h, d.out_w));
  const Context ctx = args.context();
  return args.Run([=] { return DepthwiseConv(ctx, p); });
}

Napi::Value DepthwiseConvBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.depthwiseConvBackward");
  const MapShape s = ReadShape(args);
  const Depthwise d = ReadDepthwise(args, s);
  DepthwiseConvBackwardParams p;
  SetDepthwise(p, s, d);
  ReadConvBackward(args, p, Floats(args, s), args.Count({s.C, d.kh, d.kw}), C(s), Floats(args, s.B, s.C, d.out_h, d.out_w));
  const Context ctx = args.context();
  return args.Run([=] { return DepthwiseConvBackward(ctx, p); });
}

// The dense conv's geometry: out channels, square kernel k, padding, output size.
struct Dense {
  int64_t out_channels, k, pad, out_h, out_w;
};

Dense ReadDense(Args& args, const MapShape& s) {
  Dense d;
  d.out_channels = args.Size("outChannels");
  d.k = args.Int("k", 1, kMaxInt);
  d.pad = args.Int("padding", 0, kMaxInt);
  d.out_h = ConvOutputSize(s.H, d.k, 1, d.pad);
  d.out_w = ConvOutputSize(s.W, d.k, 1, d.pad);
  if (d.out_h < 1 || d.out_w < 1) args.Fail(Code::kShape, "H", "the kernel and padding leave an output smaller than 1");
  return d;
}

template <class Params>
void SetDense(Params& p, const MapShape& s, const Dense& d) {
  p.shape = s;
  p.out_channels = d.out_channels, p.k = d.k, p.pad = d.pad;
}

Napi::Value ConvFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.conv");
  const MapShape s = ReadShape(args);
  const Dense d = ReadDense(args, s);
  ConvParams p;
  SetDense(p, s, d);
  ReadConvForward(args, p, Floats(args, s), args.Count({d.out_channels, s.C, d.k, d.k}), static_cast<size_t>(d.out_channels),
                  Floats(args, s.B, d.out_channels, d.out_h, d.out_w));
  const Context ctx = args.context();
  return args.Run([=] { return Conv(ctx, p); });
}

Napi::Value ConvBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.convBackward");
  const MapShape s = ReadShape(args);
  const Dense d = ReadDense(args, s);
  ConvBackwardParams p;
  SetDense(p, s, d);
  ReadConvBackward(args, p, Floats(args, s), args.Count({d.out_channels, s.C, d.k, d.k}), static_cast<size_t>(d.out_channels),
                   Floats(args, s.B, d.out_channels, d.out_h, d.out_w));
  const Context ctx = args.context();
  return args.Run([=] { return ConvBackward(ctx, p); });
}

// ---- max-pool, resize, Hadamard ----------------------------------------------------------

Napi::Value MaxPoolFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.maxPool2d");
  MaxPoolParams p;
  p.shape = ReadShape(args);
  p.x = In(args.Tensor("x", Floats(args, p.shape)));
  p.y = Out(args.Tensor("y", Floats(args, p.shape.B, p.shape.C, p.shape.H / 2, p.shape.W / 2)));
  args.Apart("y", {"x"});
  const Context ctx = args.context();
  return args.Run([=] { return MaxPool(ctx, p); });
}

Napi::Value MaxPoolBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.maxPool2dBackward");
  MaxPoolBackwardParams p;
  p.shape = ReadShape(args);
  const size_t in = Floats(args, p.shape);
  p.dy = In(args.Tensor("dy", Floats(args, p.shape.B, p.shape.C, p.shape.H / 2, p.shape.W / 2)));
  p.x = In(args.Tensor("x", in));
  p.dx = Out(args.Tensor("dx", in));
  args.Apart("dx", {"dy", "x"});
  const Context ctx = args.context();
  return args.Run([=] { return MaxPoolBackward(ctx, p); });
}

Napi::Value ResizeFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.resize");
  ResizeParams p;
  p.shape = ReadShape(args);
  p.out_h = args.Size("outH");
  p.out_w = args.Size("outW");
  p.x = In(args.Tensor("x", Floats(args, p.shape)));
  p.y = Out(args.Tensor("y", Floats(args, p.shape.B, p.shape.C, p.out_h, p.out_w)));
  args.Apart("y", {"x"});
  const Context ctx = args.context();
  return args.Run([=] { return Resize(ctx, p); });
}

Napi::Value ResizeBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.resizeBackward");
  ResizeBackwardParams p;
  p.shape = ReadShape(args);
  p.out_h = args.Size("outH");
  p.out_w = args.Size("outW");
  p.dy = In(args.Tensor("dy", Floats(args, p.shape.B, p.shape.C, p.out_h, p.out_w)));
  p.dx = Out(args.Tensor("dx", Floats(args, p.shape)));
  args.Apart("dx", {"dy"});
  const Context ctx = args.context();
  return args.Run([=] { return ResizeBackward(ctx, p); });
}

// The map's element count for a broadcast: [C, H, W], [C, H] or [C, W].
size_t MapFloats(const Args& args, const MapShape& s, MapBroadcast b) {
  switch (b) {
    case MapBroadcast::kRows: return args.Count({s.C, s.H});
    case MapBroadcast::kColumns: return args.Count({s.C, s.W});
    default: return args.Count({s.C, s.H, s.W});
  }
}

MapBroadcast ReadBroadcast(Args& args) {
  return args.Enum<MapBroadcast>("broadcast", {{"plane", MapBroadcast::kPlane}, {"rows", MapBroadcast::kRows}, {"columns", MapBroadcast::kColumns}});
}

Napi::Value HadamardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.hadamard");
  HadamardParams p;
  p.shape = ReadShape(args);
  p.broadcast = ReadBroadcast(args);
  const size_t n = Floats(args, p.shape);
  p.x = In(args.Tensor("x", n));
  p.map = args.Tensor("map", MapFloats(args, p.shape, p.broadcast));
  p.y = Out(args.Tensor("y", n));
  args.InPlaceOrApart("y", {"x"});
  args.Apart("y", {"map"});
  const Context ctx = args.context();
  return args.Run([=] { return Hadamard(ctx, p); });
}

Napi::Value HadamardBackwardFn(const Napi::CallbackInfo& info) {
  Args args(info, "featureMap.hadamardBackward");
  HadamardBackwardParams p;
  p.shape = ReadShape(args);
  p.broadcast = ReadBroadcast(args);
  const size_t n = Floats(args, p.shape), m = MapFloats(args, p.shape, p.broadcast);
  p.dy = In(args.Tensor("dy", n));
  p.x = In(args.Tensor("x", n));
  p.map = args.Tensor("map", m);
  p.dx = Out(args.Tensor("dx", n));
  p.dmap = args.Tensor("dmap", m);
  args.InPlaceOrApart("dx", {"dy"});
  args.Apart("dx", {"x", "map", "dmap"});
  args.Apart("dmap", {"dy", "x", "map"});
  const Context ctx = args.context();
  return args.Run([=] { return HadamardBackward(ctx, p); });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "featureMapChannelNorm", ChannelNormFn);
  Export(env, exports, "featureMapChannelNormBackward", ChannelNormBackwardFn);
  Export(env, exports, "featureMapGroupNorm", GroupNormFn);
  Export(env, exports, "featureMapGroupNormBackward", GroupNormBackwardFn);
  Export(env, exports, "featureMapDepthwiseConv", DepthwiseConvFn);
  Export(env, exports, "featureMapDepthwiseConvBackward", DepthwiseConvBackwardFn);
  Export(env, exports, "featureMapConv", ConvFn);
  Export(env, exports, "featureMapConvBackward", ConvBackwardFn);
  Export(env, exports, "featureMapMaxPool", MaxPoolFn);
  Export(env, exports, "featureMapMaxPoolBackward", MaxPoolBackwardFn);
  Export(env, exports, "featureMapResize", ResizeFn);
  Export(env, exports, "featureMapResizeBackward", ResizeBackwardFn);
  Export(env, exports, "featureMapHadamard", HadamardFn);
  Export(env, exports, "featureMapHadamardBackward", HadamardBackwardFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
