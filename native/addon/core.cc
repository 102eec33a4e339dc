// Core family: build info, threads, ISA switch, CUDA device buffers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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
  Args args(info, "setNumThreads");
  const int threads = static_cast<int>(args.Int("threads", 0, 1 << 20));
  args.Done();
  Status s = SetNumThreads(threads);
  if (!s.ok()) throw MakeError(info.Env(), s);
  return info.Env().Undefined();
}

Napi::Value SetIsaLevel(const Napi::CallbackInfo& info) {
  Args args(info, "setIsa");
  Isa isa;
  const std::string name = args.String("level");
  args.Done();
  if (!ParseIsa(name.c_str(), &isa)) args.Fail(Code::kRange, "level", "unknown level '" + name + "'");
  Status s = SetIsa(isa);
  if (!s.ok()) throw MakeError(info.Env(), s);
  return info.Env().Undefined();
}

// cudaAlloc({ length }) -> { __frugalDevicePtr, length }, freed when collected.
Napi::Value CudaAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "cudaAlloc");
  const int64_t length = args.Size("length");
  args.Done();
  void* ptr = nullptr;
  Status s = CudaMalloc(&ptr, static_cast<size_t>(length) * sizeof(float));
  if (!s.ok()) throw MakeError(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("__frugalDevicePtr", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ptr))));
  o.Set("length", Napi::Number::New(env, static_cast<double>(length)));
  o.AddFinalizer([](Napi::Env, void* p) { (void)CudaFree(p); }, ptr);
  return o;
}

// cudaCopy({ dst, src }): host<->device copy of src's floats.
Napi::Value CudaCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "cudaCopy");
  size_t dst_length = 0, src_length = 0;
  Device dst_device, src_device;
  float* dst = args.Memory("dst", &dst_length, &dst_device);
  const float* src = args.Memory("src", &src_length, &src_device);
  args.Done();
  if (dst_length < src_length) {
    args.Fail(Code::kShape, "dst", "expected at least " + std::to_string(src_length) + " elements, got " + std::to_string(dst_length));
  }
  const size_t bytes = src_length * sizeof(float);
  Status s;
  if (dst_device == Device::kCuda && src_device == Device::kCpu) {
    s = CudaCopyToDevice(dst, src, bytes);
  } else if (dst_device == Device::kCpu && src_device == Device::kCuda) {
    s = CudaCopyToHost(dst, src, bytes);
  } else {
    s = Status::Device("cudaCopy: expected one host and one device buffer");
  }
  if (!s.ok()) throw MakeError(env, s);
  return env.Undefined();
}

// firstNonFinite({ x }) -> the index of x's first NaN or ±Inf, or -1. Blocks of
// 4096 are tested by OR-ing "all exponent bits set" over their words (integer
// work the compiler vectorises); only a block that fails is searched.
Napi::Value FirstNonFinite(const Napi::CallbackInfo& info) {
  Args args(info, "firstNonFinite");
  size_t n = 0;
  const float* x = args.WholeTensor("x", &n);
  args.Done();
  constexpr size_t kBlock = 4096;
  constexpr uint32_t kExponent = 0x7f800000u;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t end = std::min(n, b + kBlock);
    uint32_t bad = 0;
    for (size_t i = b; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof bits);
      bad |= static_cast<uint32_t>((bits & kExponent) == kExponent);
    }
    if (!bad) continue;
    for (size_t i = b; i < end; ++i) {
      if (!std::isfinite(x[i])) return Napi::Number::New(info.Env(), static_cast<double>(i));
    }
  }
  return Napi::Number::New(info.Env(), -1);
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "info", Info);
  Export(env, exports, "setNumThreads", SetThreads);
  Export(env, exports, "setIsa", SetIsaLevel);
  Export(env, exports, "cudaAlloc", CudaAlloc);
  Export(env, exports, "cudaCopy", CudaCopy);
  Export(env, exports, "firstNonFinite", FirstNonFinite);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
