// Shared glue for every addon file: one op call's arguments read by name,
// Status -> JS error, sync/async execution, and registration of op families.
//
// The TypeScript layer validates every argument first; the checks here are a
// second line that turns anything unexpected into a JS exception (never a crash).
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
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

// exports[name] = fn, with the state Args keeps for the function (its key order)
// and fn.argumentKeys(), which lib/binding.ts uses to call it positionally.
void Export(Napi::Env env, Napi::Object exports, const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&));
// exports.positionalTag (the first argument of a positional call) and the
// cancellation of async calls: cancelToken(), cancel(token), armCancel(token | null).
void ExportCallSupport(Napi::Env env, Napi::Object exports);

// ---- errors ------------------------------------------------------------------
// A JS Error with .code set to the Status code name ("E_SHAPE", ...).
Napi::Error MakeError(Napi::Env env, const Status& status);
[[noreturn]] void Throw(Napi::Env env, Code code, const std::string& message);

// ---- one op call's arguments -------------------------------------------------
// Every addon function takes one plain JS object whose keys it reads here, so an
// op's argument list is written once in C++ (the reads of its addon function) and
// once as the `…Args` interface of its TypeScript module. Done() ties the two: a
// key the op does not read is refused (E_CONFIG), and a key it reads that the
// TypeScript side did not send fails as a missing argument, so every test call
// checks that both lists agree. Each tensor read has its length checked, joins
// the call's one device (E_DEVICE on a mix) and stays referenced until an async
// call settles, with no hand-written keep-alive list. Errors name "<op>: <key>".
//
// Reading a key by name through the JS engine cost more than all the rest of a
// small call's glue, so only an op's first call goes by name. Its first call that
// passes the key check records the order of its reads (the same on every call:
// no op reads a key conditionally), and lib/binding.ts then sends the values in
// that order, behind a tag only the addon can make: `fn(tag, v0, v1, …)`.
class Args {
 public:
  // The order an op reads its keys in, once known (see Export).
  struct KeyOrder {
    std::vector<const char*> keys;  // string literals of the addon
    bool known = false;
  };

  Args(const Napi::CallbackInfo& info, const char* op);

  // Host floats (a Float32Array) or a device buffer of at least `need` elements.
  float* Tensor(const char* key, size_t need);
  // Like Tensor, but null or undefined give nullptr (an output not asked for).
  float* OptionalTensor(const char* key, size_t need);
  // A tensor of any length, all of whose elements the op uses.
  float* WholeTensor(const char* key, size_t* length);
  // Host or device floats on either device (it joins no device): the two sides of a copy.
  float* Memory(const char* key, size_t* length, Device* device);
  // Host-only integer arrays (packed offsets, k-means labels), kept alive like tensors.
  uint32_t* Words(const char* key, size_t* length);
  int32_t* Int32s(const char* key, size_t* length);
  // A host-only Float64Array (the accountants' inputs, k-means' scalar results).
  double* Doubles(const char* key, size_t* length);

  // A dimension or element count: an integer in [0, 2^40] (E_SHAPE otherwise).
  int64_t Size(const char* key);
  // An integer in [lo, hi] (E_RANGE otherwise).
  int64_t Int(const char* key, int64_t lo, int64_t hi);
  double Number(const char* key);
  float Float(const char* key) { return static_cast<float>(Number(key)); }
  bool Bool(const char* key);
  uint64_t Seed(const char* key);  // BigInt or safe integer in [0, 2^64)
  std::string String(const char* key);
  // One of `names` (the TypeScript string literal), as its C++ value; E_RANGE
  // listing the names otherwise. Enums never cross as bare indices.
  template <class E>
  E Enum(const char* key, std::initializer_list<std::pair<const char*, E>> names) {
    const std::string got = String(key);
    std::string known;
    for (const auto& n : names) {
      if (got == n.first) return n.second;
      known += (known.empty() ? "" : ", ") + std::string(n.first);
    }
    Fail(Code::kRange, key, "expected one of " + known + ", got '" + got + "'");
  }

  // The product of `dims` as an element count; E_SHAPE beyond 2^40 (so no
  // length check can overflow).
  size_t Count(std::initializer_list<int64_t> dims) const;
  // E_<code> "<op>: <key>: <message>".
  [[noreturn]] void Fail(Code code, const char* key, const std::string& message) const;

  // Refuse an output that overlaps inputs it must not (E_RANGE), by address, so
  // two JS views of one memory (a cloned SharedArrayBuffer) are caught too.
  // Apart: no overlap at all (a GEMM rereads its inputs); InPlaceOrApart: exactly
  // the input or no overlap (elementwise and row ops). Keys must have been read.
  void Apart(const char* out, std::initializer_list<const char*> inputs) const { CheckOverlap(out, inputs, false); }
  void InPlaceOrApart(const char* out, std::initializer_list<const char*> inputs) const { CheckOverlap(out, inputs, true); }

  // The device every tensor read so far lives on (the CPU when none was read).
  Context context() const;
  // By name: refuses keys the op did not read (E_CONFIG), and records the order
  // of the reads the first time the check passes. The TypeScript side builds an
  // op's argument object from one typed literal, the same keys on every call, so
  // the check runs only until then. Positional calls carry exactly those keys.
  void Done();
  // Done(), then runs `work` now or, when the "async" key is true, on a libuv
  // worker (returning a Promise settled with undefined or the error). An async
  // call pins the memory of every host tensor (pin.h), so detaching a buffer in
  // flight cannot free it, and refuses one JavaScript could shrink (E_DTYPE).
  // An async call started while a cancel token is armed (armCancel) runs under
  // its flag (CancelScope) and fails with E_ABORTED once the token is cancelled.
  using Work = std::function<Status()>;
  Napi::Value Run(Work work);

 private:
  Napi::Value Get(const char* key);
  int64_t IntValue(const char* key, const Napi::Value& v, int64_t lo, int64_t hi);
  float* Floats(const char* key, bool optional, size_t* length, Device* device);
  void* HostArray(const char* key, napi_typedarray_type want, const char* expected, size_t* length);
  float* Joined(const char* key, bool optional, size_t need, size_t* length);
  void Keep(const char* key, const Napi::Value& v);
  void CheckOverlap(const char* out, std::initializer_list<const char*> inputs, bool in_place) const;

  // The bytes of each tensor read, for the overlap checks.
  struct Range {
    const char* key;
    uintptr_t begin, end;
    Device device;
  };

  const Napi::CallbackInfo& info_;
  Napi::Env env_;
  Napi::Object object_;  // a call by name: the arguments object
  KeyOrder* order_;      // this function's key order
  bool positional_ = false;
  size_t next_ = 0;  // a positional call: the index of the next read in order_
  const char* op_;
  bool async_ = false;
  std::vector<const char*> read_;            // a call by name: keys read (string literals of the addon)
  std::vector<Napi::Value> keep_;            // async calls: the values to keep referenced
  std::vector<std::shared_ptr<void>> pins_;  // async calls: host memory, held until the call settles (pin.h)
  const char* shrinkable_key_ = nullptr;     // a tensor on a resizable ArrayBuffer
  // Inline: a heap vector cost a small call several allocations.
  static constexpr size_t kMaxTensors = 32;
  Range ranges_[kMaxTensors];
  size_t range_count_ = 0;
  Device device_ = Device::kCpu;
  const char* device_key_ = nullptr;  // the first tensor read, whose device the others must share
};

// B + 1 packed offsets (a host Int32Array, core/packed.h's layout): offsets[0] = 0
// and a total >= 0 are checked here, the rest by the core.
struct HostOffsets {
  const int32_t* offsets;
  int64_t batch;
  int64_t total;  // offsets[batch]
};
HostOffsets ReadOffsets(Args& args, const char* key);

}  // namespace addon
}  // namespace frugal
