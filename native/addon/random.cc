// Random streams glue: one Philox block, and the four stream fills into a
// caller-allocated output (its length is n). The arguments of lib/random.ts's
// …Args interfaces, read by name; seeds and offsets come as BigInt (or safe
// integers). lib/random.ts checked every argument first, these checks are the
// second line.
#include "common.h"
#include "frugal/random.h"

namespace frugal {
namespace addon {
namespace {

// The stream keys every fill takes: seed, sub, tag, offset.
StreamId ReadStream(Args& args, uint64_t* offset) {
  StreamId id;
  id.seed = args.Seed("seed");
  id.sub = static_cast<uint32_t>(args.Int("sub", 0, 0xffffffffll));
  id.tag = static_cast<uint32_t>(args.Int("tag", 0, 0xffffffffll));
  *offset = args.Seed("offset");
  return id;
}

// philox({ counter: Uint32Array(4), key: Uint32Array(2) }) -> Uint32Array(4)
Napi::Value PhiloxFn(const Napi::CallbackInfo& info) {
  Args args(info, "random.philox");
  size_t counter_words = 0, key_words = 0;
  const uint32_t* counter = args.Words("counter", &counter_words);
  const uint32_t* key = args.Words("key", &key_words);
  if (counter_words != 4) args.Fail(Code::kShape, "counter", "expected 4 words");
  if (key_words != 2) args.Fail(Code::kShape, "key", "expected 2 words");
  args.Done();
  Napi::Uint32Array out = Napi::Uint32Array::New(info.Env(), 4);
  Philox4x32(counter, key, out.Data());
  return out;
}

Napi::Value WordsFn(const Napi::CallbackInfo& info) {
  Args args(info, "random.words");
  uint64_t offset = 0;
  const StreamId id = ReadStream(args, &offset);
  size_t n = 0;
  uint32_t* out = args.Words("out", &n);
  return args.Run([=] { return RandomWords(Context{}, id, offset, static_cast<int64_t>(n), out); });
}

Napi::Value UniformFn(const Napi::CallbackInfo& info) {
  Args args(info, "random.uniform");
  uint64_t offset = 0;
  const StreamId id = ReadStream(args, &offset);
  size_t n = 0;
  float* out = args.WholeTensor("out", &n);
  const Context ctx = args.context();
  return args.Run([=] { return RandomUniform(ctx, id, offset, static_cast<int64_t>(n), out); });
}

// random.normal and random.rademacher: the stream keys, scale and out.
template <Status (*Fill)(const Context&, StreamId, uint64_t, int64_t, float, float*)>
Napi::Value ScaledFn(const Napi::CallbackInfo& info, const char* op) {
  Args args(info, op);
  uint64_t offset = 0;
  const StreamId id = ReadStream(args, &offset);
  const float scale = args.Float("scale");
  size_t n = 0;
  float* out = args.WholeTensor("out", &n);
  const Context ctx = args.context();
  return args.Run([=] { return Fill(ctx, id, offset, static_cast<int64_t>(n), scale, out); });
}

Napi::Value NormalFn(const Napi::CallbackInfo& info) { return ScaledFn<RandomNormal>(info, "random.normal"); }
Napi::Value RademacherFn(const Napi::CallbackInfo& info) { return ScaledFn<RandomRademacher>(info, "random.rademacher"); }

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "philox", PhiloxFn);
  Export(env, exports, "randomWords", WordsFn);
  Export(env, exports, "randomUniform", UniformFn);
  Export(env, exports, "randomNormal", NormalFn);
  Export(env, exports, "randomRademacher", RademacherFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
