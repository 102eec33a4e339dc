#include "common.h"

#include "pin.h"

#include <atomic>
#include <cstring>
#include <exception>
#include <memory>

namespace frugal {
namespace addon {

FamilyRegistrar::FamilyRegistrar(FamilyInit init) { Families().push_back(init); }

std::vector<FamilyInit>& Families() {
  static std::vector<FamilyInit> families;
  return families;
}

namespace {

// The tag that marks a positional call: an External of this address, which only
// the addon can make, so no JavaScript caller can pass values by position by mistake.
char kPositionalTag = 0;  // only its address matters

bool IsPositionalTag(const Napi::Value& v) {
  return v.IsExternal() && v.As<Napi::External<char>>().Data() == &kPositionalTag;
}

// fn.argumentKeys(): the keys in the order the op reads them, or undefined until
// a call by name has passed the key check.
Napi::Value ArgumentKeys(const Napi::CallbackInfo& info) {
  const auto* order = static_cast<const Args::KeyOrder*>(info.Data());
  if (!order->known) return info.Env().Undefined();
  Napi::Array keys = Napi::Array::New(info.Env(), order->keys.size());
  for (uint32_t i = 0; i < order->keys.size(); ++i) keys.Set(i, Napi::String::New(info.Env(), order->keys[i]));
  return keys;
}

}  // namespace

namespace {

// ---- cancellation: lib/call.ts gives an async call an AbortSignal this way ----
using CancelFlag = std::shared_ptr<std::atomic<bool>>;

// The flag the next async calls started on this thread take (armCancel).
CancelFlag& ArmedFlag() {
  thread_local CancelFlag armed;
  return armed;
}

CancelFlag* TokenFlag(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) Throw(info.Env(), Code::kDType, "expected a cancel token");
  return info[0].As<Napi::External<CancelFlag>>().Data();
}

// cancelToken(): a new, unset flag, freed with the token once no call holds it.
Napi::Value CancelToken(const Napi::CallbackInfo& info) {
  return Napi::External<CancelFlag>::New(info.Env(), new CancelFlag(std::make_shared<std::atomic<bool>>(false)),
                                         [](Napi::Env, CancelFlag* f) { delete f; });
}

// cancel(token): sets the flag; calls holding it stop between pool tasks.
Napi::Value Cancel(const Napi::CallbackInfo& info) {
  (*TokenFlag(info))->store(true);
  return info.Env().Undefined();
}

// armCancel(token | null): the flag async calls take until the next armCancel.
// lib/call.ts arms it around one op's run (which may start several calls).
Napi::Value ArmCancel(const Napi::CallbackInfo& info) {
  ArmedFlag() = info.Length() >= 1 && info[0].IsNull() ? nullptr : *TokenFlag(info);
  return info.Env().Undefined();
}

}  // namespace

void ExportCallSupport(Napi::Env env, Napi::Object exports) {
  exports.Set("positionalTag", Napi::External<char>::New(env, &kPositionalTag));
  exports.Set("cancelToken", Napi::Function::New(env, CancelToken, "cancelToken"));
  exports.Set("cancel", Napi::Function::New(env, Cancel, "cancel"));
  exports.Set("armCancel", Napi::Function::New(env, ArmCancel, "armCancel"));
}

void Export(Napi::Env env, Napi::Object exports, const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
  auto* order = new Args::KeyOrder();
  Napi::Function f = Napi::Function::New(env, fn, name, order);
  f.AddFinalizer([](Napi::Env, Args::KeyOrder* o) { delete o; }, order);
  f.Set("argumentKeys", Napi::Function::New(env, ArgumentKeys, "argumentKeys", order));
  exports.Set(name, f);
}

Napi::Error MakeError(Napi::Env env, const Status& status) {
  Napi::Error err = Napi::Error::New(env, status.message());
  err.Set("code", Napi::String::New(env, CodeName(status.code())));
  return err;
}

void Throw(Napi::Env env, Code code, const std::string& message) {
  throw MakeError(env, Status(code, message));
}

namespace {

// Device buffers are JS objects { __frugalDevicePtr: BigInt, length: number }
// created by the core family (cudaAlloc); see native/addon/core.cc.
bool IsDeviceBuffer(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().Has("__frugalDevicePtr");
}

constexpr int64_t kMaxSize = int64_t{1} << 40;

// One napi_get_typedarray_info call for the type, length and data of a typed
// array (the Napi wrappers ask for each again, which showed up in small calls).
bool TypedArrayInfo(const Napi::Value& v, napi_typedarray_type* type, size_t* length, void** data) {
  if (!v.IsTypedArray()) return false;
  return napi_get_typedarray_info(v.Env(), v, type, length, data, nullptr, nullptr) == napi_ok;
}

}  // namespace

Args::Args(const Napi::CallbackInfo& info, const char* op)
    : info_(info), env_(info.Env()), order_(static_cast<KeyOrder*>(info.Data())), op_(op) {
  positional_ = info.Length() >= 1 && IsPositionalTag(info[0]);
  if (positional_) {
    if (!order_->known || info.Length() != order_->keys.size() + 1) {
      Throw(env_, Code::kNative, std::string(op) + ": a positional call that does not match the recorded key order");
    }
  } else if (info.Length() != 1 || !info[0].IsObject() || info[0].IsArray()) {
    Throw(env_, Code::kConfig, std::string(op) + ": expected one arguments object");
  } else {
    object_ = info[0].As<Napi::Object>();
  }
  // Read first: an async call keeps and pins its tensors as they are read.
  const Napi::Value async = Get("async");
  if (!async.IsUndefined() && !async.IsBoolean()) Fail(Code::kDType, "async", "expected a boolean");
  async_ = async.IsBoolean() && async.As<Napi::Boolean>().Value();
}

void Args::Fail(Code code, const char* key, const std::string& message) const {
  Throw(env_, code, std::string(op_) + ": " + key + ": " + message);
}

Napi::Value Args::Get(const char* key) {
  if (!positional_) {
    read_.push_back(key);
    // A getter that throws reads as undefined (the caller then refuses it).
    napi_value value;
    if (napi_get_named_property(env_, object_, key, &value) != napi_ok) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env_, &ignored);
      return env_.Undefined();
    }
    return Napi::Value(env_, value);
  }
  // The same call sites read the same literals in the same order on every call.
  const size_t i = next_++;
  if (i >= order_->keys.size() || order_->keys[i] != key) {
    Fail(Code::kNative, key, "read out of the recorded order (an op must read its keys unconditionally)");
  }
  return info_[i + 1];
}

void Args::Keep(const char* key, const Napi::Value& v) {
  if (!async_) return;  // a sync call ends before any JavaScript can touch its memory
  keep_.push_back(v);
  if (!v.IsTypedArray()) return;
  bool shrinkable = false;
  pins_.push_back(PinTypedArray(v, &shrinkable));
  if (shrinkable && !shrinkable_key_) shrinkable_key_ = key;
}

float* Args::Floats(const char* key, bool optional, size_t* length, Device* device) {
  const Napi::Value v = Get(key);
  *length = 0;
  *device = Device::kCpu;
  if (optional && (v.IsUndefined() || v.IsNull())) return nullptr;
  float* data = nullptr;
  napi_typedarray_type type;
  if (TypedArrayInfo(v, &type, length, reinterpret_cast<void**>(&data)) && type == napi_float32_array) {
    // a Float32Array: data and length are set
  } else if (IsDeviceBuffer(v)) {
    Napi::Object o = v.As<Napi::Object>();
    const Napi::Value ptr = o.Get("__frugalDevicePtr"), len = o.Get("length");
    const double n = len.IsNumber() ? len.As<Napi::Number>().DoubleValue() : -1;
    bool lossless = false;
    const uint64_t address = ptr.IsBigInt() ? ptr.As<Napi::BigInt>().Uint64Value(&lossless) : 0;
    if (!lossless || !(n >= 0 && n <= static_cast<double>(kMaxSize)) || n != static_cast<double>(static_cast<int64_t>(n))) {
      Fail(Code::kDType, key, "a malformed device buffer (expected { __frugalDevicePtr: bigint, length: a size })");
    }
    data = reinterpret_cast<float*>(static_cast<uintptr_t>(address));
    *length = static_cast<size_t>(n);
    *device = Device::kCuda;
  } else {
    Fail(Code::kDType, key, optional ? "expected a Float32Array, a device buffer or null" : "expected a Float32Array or device buffer");
  }
  Keep(key, v);
  return data;
}

// A tensor the op computes with: its length is checked and its device joins the call's.
float* Args::Joined(const char* key, bool optional, size_t need, size_t* length) {
  Device device;
  float* data = Floats(key, optional, length, &device);
  if (!data && optional) return nullptr;
  if (*length < need) {
    Fail(Code::kShape, key, "expected at least " + std::to_string(need) + " elements, got " + std::to_string(*length));
  }
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  if (range_count_ == kMaxTensors) Fail(Code::kNative, key, "more tensors than an op may read");
  ranges_[range_count_++] = Range{key, begin, begin + *length * sizeof(float), device};
  if (!device_key_) {
    device_key_ = key;
    device_ = device;
  } else if (device != device_) {
    Fail(Code::kDevice, key, std::string("on a different device than ") + device_key_);
  }
  return data;
}

float* Args::Tensor(const char* key, size_t need) {
  size_t length = 0;
  return Joined(key, false, need, &length);
}

float* Args::OptionalTensor(const char* key, size_t need) {
  size_t length = 0;
  return Joined(key, true, need, &length);
}

float* Args::WholeTensor(const char* key, size_t* length) { return Joined(key, false, 0, length); }

float* Args::Memory(const char* key, size_t* length, Device* device) { return Floats(key, false, length, device); }

void* Args::HostArray(const char* key, napi_typedarray_type want, const char* expected, size_t* length) {
  const Napi::Value v = Get(key);
  napi_typedarray_type type;
  void* data = nullptr;
  if (!TypedArrayInfo(v, &type, length, &data) || type != want) Fail(Code::kDType, key, expected);
  Keep(key, v);
  return data;
}

uint32_t* Args::Words(const char* key, size_t* length) {
  return static_cast<uint32_t*>(HostArray(key, napi_uint32_array, "expected a Uint32Array", length));
}

int32_t* Args::Int32s(const char* key, size_t* length) {
  return static_cast<int32_t*>(HostArray(key, napi_int32_array, "expected an Int32Array", length));
}

double* Args::Doubles(const char* key, size_t* length) {
  return static_cast<double*>(HostArray(key, napi_float64_array, "expected a Float64Array", length));
}

int64_t Args::Int(const char* key, int64_t lo, int64_t hi) { return IntValue(key, Get(key), lo, hi); }

int64_t Args::IntValue(const char* key, const Napi::Value& v, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) Fail(Code::kDType, key, "expected an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Fail(Code::kRange, key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

int64_t Args::Size(const char* key) {
  const Napi::Value v = Get(key);
  if (!v.IsNumber()) Fail(Code::kDType, key, "expected a size");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= static_cast<double>(kMaxSize)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Fail(Code::kShape, key, "expected a size (an integer in [0, 2^40]), got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

double Args::Number(const char* key) {
  const Napi::Value v = Get(key);
  if (!v.IsNumber()) Fail(Code::kDType, key, "expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool Args::Bool(const char* key) {
  const Napi::Value v = Get(key);
  if (!v.IsBoolean()) Fail(Code::kDType, key, "expected a boolean");
  return v.As<Napi::Boolean>().Value();
}

uint64_t Args::Seed(const char* key) {
  const Napi::Value v = Get(key);
  if (v.IsBigInt()) {
    bool lossless = false;
    const uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) Fail(Code::kRange, key, "expected 0 <= seed < 2^64");
    return s;
  }
  return static_cast<uint64_t>(IntValue(key, v, 0, (int64_t{1} << 53) - 1));
}

std::string Args::String(const char* key) {
  const Napi::Value v = Get(key);
  if (!v.IsString()) Fail(Code::kDType, key, "expected a string");
  return v.As<Napi::String>().Utf8Value();
}

size_t Args::Count(std::initializer_list<int64_t> dims) const {
  // Each dim is a Size (<= 2^40), so one step of the product cannot overflow
  // once the running product is checked against 2^40 first.
  int64_t n = 1;
  for (const int64_t d : dims) {
    if (d == 0) return 0;
  }
  for (const int64_t d : dims) {
    if (n > kMaxSize / d) Throw(env_, Code::kShape, std::string(op_) + ": the sizes make more than 2^40 elements");
    n *= d;
  }
  return static_cast<size_t>(n);
}

void Args::CheckOverlap(const char* out, std::initializer_list<const char*> inputs, bool in_place) const {
  const auto find = [&](const char* key) -> const Range* {
    for (size_t i = 0; i < range_count_; ++i) {
      if (std::strcmp(ranges_[i].key, key) == 0) return &ranges_[i];
    }
    return nullptr;
  };
  const Range* o = find(out);
  if (!o || o->begin == o->end) return;
  for (const char* key : inputs) {
    const Range* in = find(key);
    if (!in || in->begin == in->end || in->device != o->device) continue;
    if (o->begin >= in->end || in->begin >= o->end) continue;
    const bool same = o->begin == in->begin && o->end == in->end;
    if (same && in_place) continue;
    Fail(Code::kRange, out, std::string("overlaps ") + key + (same ? "" : " partly") + "; it must " +
                                (in_place ? std::string("be ") + key + " itself or not overlap it" : std::string("not share memory with ") + key));
  }
}

Context Args::context() const {
  Context ctx;
  ctx.device = device_;
  return ctx;
}

void Args::Done() {
  if (positional_ || order_->known) return;
  // Own enumerable string keys, each compared in a stack buffer.
  napi_value keys;
  uint32_t count = 0;
  if (napi_get_all_property_names(env_, object_, napi_key_own_only,
                                  static_cast<napi_key_filter>(napi_key_enumerable | napi_key_skip_symbols),
                                  napi_key_numbers_to_strings, &keys) != napi_ok ||
      napi_get_array_length(env_, keys, &count) != napi_ok) {
    Throw(env_, Code::kNative, std::string(op_) + ": cannot list the argument keys");
  }
  for (uint32_t i = 0; i < count; ++i) {
    napi_value name;
    char buffer[64];
    size_t length = 0;
    if (napi_get_element(env_, keys, i, &name) != napi_ok ||
        napi_get_value_string_utf8(env_, name, buffer, sizeof buffer, &length) != napi_ok) {
      Throw(env_, Code::kNative, std::string(op_) + ": cannot read an argument key");
    }
    bool known = length < sizeof buffer - 1;  // a longer name is no key of ours
    if (known) {
      known = false;
      for (const char* r : read_) known = known || std::strcmp(buffer, r) == 0;
    }
    if (!known) Throw(env_, Code::kConfig, std::string(op_) + ": " + buffer + ": not an argument of this op");
  }
  order_->keys = read_;
  order_->known = true;
}

namespace {

Status Guarded(const Args::Work& work) {
  try {
    return work();
  } catch (const std::bad_alloc&) {
    return Status::Native("out of memory");
  } catch (const std::exception& e) {
    return Status::Native(e.what());
  } catch (...) {
    return Status::Native("unknown native error");
  }
}

class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, const char* op, const std::vector<Napi::Value>& keep, std::vector<std::shared_ptr<void>> pins,
           CancelFlag cancel, Args::Work work)
      : Napi::AsyncWorker(env, "frugal"),
        deferred_(Napi::Promise::Deferred::New(env)),
        op_(op),
        pins_(std::move(pins)),
        cancel_(std::move(cancel)),
        work_(std::move(work)) {
    for (const Napi::Value& v : keep) {
      if (v.IsObject()) keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (!Cancelled()) {
      CancelScope scope(cancel_.get());
      status_ = Guarded(work_);
    }
    // Cancelled before it settled: skipped tasks leave the outputs partly written.
    if (Cancelled()) status_ = Status(Code::kAborted, std::string(op_) + ": aborted by its AbortSignal; its outputs may be partly written");
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status_.ok()) {
      deferred_.Resolve(env.Undefined());
    } else {
      deferred_.Reject(MakeError(env, status_).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  bool Cancelled() const { return cancel_ && cancel_->load(); }

  Napi::Promise::Deferred deferred_;
  const char* op_;
  std::vector<Napi::ObjectReference> keep_;
  std::vector<std::shared_ptr<void>> pins_;  // released with the worker, after the promise settles
  CancelFlag cancel_;                        // null without an AbortSignal
  Args::Work work_;
  Status status_;
};

}  // namespace

Napi::Value Args::Run(Work work) {
  Done();
  if (!async_) {
    const Status s = Guarded(work);
    if (!s.ok()) throw MakeError(env_, s);
    return env_.Undefined();
  }
  if (shrinkable_key_) {
    Fail(Code::kDType, shrinkable_key_,
         "a resizable ArrayBuffer cannot back an async call (it could shrink while the kernel runs); use the sync form or a fixed-length buffer");
  }
  auto* worker = new OpWorker(env_, op_, keep_, std::move(pins_), ArmedFlag(), std::move(work));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

HostOffsets ReadOffsets(Args& args, const char* key) {
  size_t entries = 0;
  HostOffsets o;
  o.offsets = args.Int32s(key, &entries);
  if (entries < 1) args.Fail(Code::kShape, key, "expected at least one entry");
  o.batch = static_cast<int64_t>(entries) - 1;
  if (o.offsets[0] != 0 || o.offsets[o.batch] < 0) args.Fail(Code::kShape, key, "expected offsets[0] = 0 and a total >= 0");
  o.total = o.offsets[o.batch];
  return o;
}

}  // namespace addon
}  // namespace frugal
