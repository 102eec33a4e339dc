// Core family: build info, threads, ISA switch, CUDA device buffers.
#include <string>

#include "common.h"
#include "frugal/context.h"
#include "frugal/cuda.h"
#include "frugal/isa.h"

namespace frugal {
namespace addon {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", IsaName(ActiveIsa()));
  o.Set("maxIsa", IsaName(MaxIsa()));
  o.Set("threads", NumThreads());
  o.Set("cudaCompiled", CudaCompiled());
  Napi::Array devices = Napi::Array::New(env);
  const int n = CudaDeviceCount();
  for (int i = 0; i < n; ++i) devices.Set(static_cast<uint32_t>(i), CudaDeviceName(i));
  o.Set("cudaDevices", devices);
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Status s = SetNumThreads(static_cast<int>(GetInt(info[0], "threads")));
  if (!s.ok()) throw MakeError(info.Env(), s);
  return info.Env().Undefined();
}

Napi::Value SetIsaLevel(const Napi::CallbackInfo& info) {
  Isa isa;
  const std::string name = GetString(info[0], "isa");
  if (!ParseIsa(name.c_str(), &isa)) Throw(info.Env(), Code::kRange, "isa: unknown level '" + name + "'");
  Status s = SetIsa(isa);
  if (!s.ok()) throw MakeError(info.Env(), s);
  return info.Env().Undefined();
}

// cudaAlloc(length) -> { __frugalDevicePtr, length }, freed when collected.
Napi::Value CudaAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t length = GetInt(info[0], "length");
  if (length < 0) Throw(env, Code::kRange, "length: expected >= 0");
  void* ptr = nullptr;
  Status s = CudaMalloc(&ptr, static_cast<size_t>(length) * sizeof(float));
  if (!s.ok()) throw MakeError(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("__frugalDevicePtr", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ptr))));
  o.Set("length", Napi::Number::New(env, static_cast<double>(length)));
  o.AddFinalizer([](Napi::Env, void* p) { (void)CudaFree(p); }, ptr);
  return o;
}

// cudaCopy(dst, src): host<->device copy of min(length) floats.
Napi::Value CudaCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer dst = GetBuffer(info[0], "dst"), src = GetBuffer(info[1], "src");
  RequireLength(env, dst, src.length, "dst");
  const size_t bytes = src.length * sizeof(float);
  Status s;
  if (dst.device == Device::kCuda && src.device == Device::kCpu) {
    s = CudaCopyToDevice(dst.data, src.data, bytes);
  } else if (dst.device == Device::kCpu && src.device == Device::kCuda) {
    s = CudaCopyToHost(dst.data, src.data, bytes);
  } else {
    s = Status::Device("cudaCopy: expected one host and one device buffer");
  }
  if (!s.ok()) throw MakeError(env, s);
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setNumThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setIsa", Napi::Function::New(env, SetIsaLevel));
  exports.Set("cudaAlloc", Napi::Function::New(env, CudaAlloc));
  exports.Set("cudaCopy", Napi::Function::New(env, CudaCopy));
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
