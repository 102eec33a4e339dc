// Shared glue for every addon file: argument unpacking, Status -> JS error,
// sync/async execution, and registration of op families.
//
// The TypeScript layer validates every argument first; the checks here are a
// second line that turns anything unexpected into a JS exception (never a crash).
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {
namespace addon {

// ---- registration: each family file adds its functions to `exports` ----------
using FamilyInit = void (*)(Napi::Env env, Napi::Object exports);
struct FamilyRegistrar {
  explicit FamilyRegistrar(FamilyInit init);
};
std::vector<FamilyInit>& Families();
#define FRUGAL_ADDON_FAMILY(init) static ::frugal::addon::FamilyRegistrar frugal_family_registrar_(init)

// ---- errors ------------------------------------------------------------------
// A JS Error with .code set to the Status code name ("E_SHAPE", ...).
Napi::Error MakeError(Napi::Env env, const Status& status);
[[noreturn]] void Throw(Napi::Env env, Code code, const std::string& message);

// ---- arguments ---------------------------------------------------------------
// A Float32Array argument (host memory) or a CUDA buffer handle (device memory).
struct Buffer {
  float* data = nullptr;
  size_t length = 0;  // in floats
  Device device = Device::kCpu;
  Napi::Value value;  // kept alive by async calls
};
// Float32Array, or a device buffer object; `what` names the argument in errors.
Buffer GetBuffer(const Napi::Value& v, const char* what);
// Like GetBuffer, but null/undefined give an empty Buffer (data == nullptr).
Buffer GetOptionalBuffer(const Napi::Value& v, const char* what);
// Checks that a buffer holds at least `need` floats.
void RequireLength(Napi::Env env, const Buffer& b, size_t need, const char* what);

Napi::Uint32Array GetUint32Array(const Napi::Value& v, const char* what);
Napi::Int32Array GetInt32Array(const Napi::Value& v, const char* what);
int64_t GetInt(const Napi::Value& v, const char* what);
// A dimension or element count: an integer in [0, 2^40] (E_SHAPE otherwise).
int64_t GetSize(const Napi::Value& v, const char* what);
double GetNumber(const Napi::Value& v, const char* what);
bool GetBool(const Napi::Value& v, const char* what);
uint64_t GetSeed(const Napi::Value& v, const char* what);  // BigInt or safe integer
std::string GetString(const Napi::Value& v, const char* what);

// ---- execution ---------------------------------------------------------------
// Runs `work` now (sync) or on a libuv worker (async, returns a Promise). `keep`
// holds the JS values whose memory `work` touches; they stay referenced until
// the promise settles. `result` builds the return value on the JS thread.
using Work = std::function<Status()>;
using Result = std::function<Napi::Value(Napi::Env)>;
Napi::Value Run(Napi::Env env, bool async, const std::vector<Napi::Value>& keep, Work work,
                Result result);

// Context for a call: CPU by default, CUDA when the inputs live on the device.
Context ContextFor(Device device);

// The one device all present buffers live on (buffers with no data are skipped);
// throws E_DEVICE naming `op` when they disagree.
Device OneDevice(Napi::Env env, const char* op, std::initializer_list<const Buffer*> buffers);

}  // namespace addon
}  // namespace frugal
