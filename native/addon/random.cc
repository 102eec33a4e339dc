// Random streams glue: one Philox block, and the four stream fills into a
// caller-allocated output (its length is n). Seeds and offsets come as BigInt
// (or safe integers); lib/random.ts checked every argument first, these checks
// are the second line.
#include <string>

#include "common.h"
#include "frugal/random.h"

namespace frugal {
namespace addon {
namespace {

uint32_t GetU32(const Napi::Value& v, const char* what) {
  const int64_t x = GetInt(v, what);
  if (x < 0 || x > 0xffffffffll) Throw(v.Env(), Code::kRange, std::string(what) + ": expected an integer in [0, 2^32 - 1]");
  return static_cast<uint32_t>(x);
}

// Arguments 0..3: seed, sub, tag, offset.
void GetStream(const Napi::CallbackInfo& info, StreamId* id, uint64_t* offset) {
  id->seed = GetSeed(info[0], "seed");
  id->sub = GetU32(info[1], "sub");
  id->tag = GetU32(info[2], "tag");
  *offset = GetSeed(info[3], "offset");
}

// philox(counter: Uint32Array(4), key: Uint32Array(2)) -> Uint32Array(4)
Napi::Value PhiloxFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Uint32Array counter = GetUint32Array(info[0], "counter"), key = GetUint32Array(info[1], "key");
  if (counter.ElementLength() != 4) Throw(env, Code::kShape, "counter: expected 4 words");
  if (key.ElementLength() != 2) Throw(env, Code::kShape, "key: expected 2 words");
  Napi::Uint32Array out = Napi::Uint32Array::New(env, 4);
  Philox4x32(counter.Data(), key.Data(), out.Data());
  return out;
}

// randomWords(seed, sub, tag, offset, out: Uint32Array, async)
Napi::Value WordsFn(const Napi::CallbackInfo& info) {
  StreamId id;
  uint64_t offset;
  GetStream(info, &id, &offset);
  Napi::Uint32Array out = GetUint32Array(info[4], "out");
  uint32_t* data = out.Data();
  const int64_t n = static_cast<int64_t>(out.ElementLength());
  return Run(info.Env(), GetBool(info[5], "async"), {info[4]},
             [=] { return RandomWords(Context{}, id, offset, n, data); }, [](Napi::Env e) { return e.Undefined(); });
}

// randomUniform(seed, sub, tag, offset, out: Float32Array | device buffer, async)
Napi::Value UniformFn(const Napi::CallbackInfo& info) {
  StreamId id;
  uint64_t offset;
  GetStream(info, &id, &offset);
  const Buffer out = GetBuffer(info[4], "out");
  const Context ctx = ContextFor(out.device);
  const int64_t n = static_cast<int64_t>(out.length);
  float* data = out.data;
  return Run(info.Env(), GetBool(info[5], "async"), {info[4]},
             [=] { return RandomUniform(ctx, id, offset, n, data); }, [](Napi::Env e) { return e.Undefined(); });
}

// randomNormal / randomRademacher(seed, sub, tag, offset, scale, out, async)
template <Status (*Fill)(const Context&, StreamId, uint64_t, int64_t, float, float*)>
Napi::Value ScaledFn(const Napi::CallbackInfo& info) {
  StreamId id;
  uint64_t offset;
  GetStream(info, &id, &offset);
  const float scale = static_cast<float>(GetNumber(info[4], "scale"));
  const Buffer out = GetBuffer(info[5], "out");
  const Context ctx = ContextFor(out.device);
  const int64_t n = static_cast<int64_t>(out.length);
  float* data = out.data;
  return Run(info.Env(), GetBool(info[6], "async"), {info[5]},
             [=] { return Fill(ctx, id, offset, n, scale, data); }, [](Napi::Env e) { return e.Undefined(); });
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("philox", Napi::Function::New(env, PhiloxFn));
  exports.Set("randomWords", Napi::Function::New(env, WordsFn));
  exports.Set("randomUniform", Napi::Function::New(env, UniformFn));
  exports.Set("randomNormal", Napi::Function::New(env, ScaledFn<RandomNormal>));
  exports.Set("randomRademacher", Napi::Function::New(env, ScaledFn<RandomRademacher>));
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
