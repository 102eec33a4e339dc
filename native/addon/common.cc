#include "common.h"

#include <exception>
#include <memory>

namespace frugal {
namespace addon {

FamilyRegistrar::FamilyRegistrar(FamilyInit init) { Families().push_back(init); }

std::vector<FamilyInit>& Families() {
  static std::vector<FamilyInit> families;
  return families;
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

}  // namespace

Buffer GetBuffer(const Napi::Value& v, const char* what) {
  Buffer b;
  b.value = v;
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    b.data = a.Data();
    b.length = a.ElementLength();
    return b;
  }
  if (IsDeviceBuffer(v)) {
    Napi::Object o = v.As<Napi::Object>();
    bool lossless = false;
    b.data = reinterpret_cast<float*>(
        o.Get("__frugalDevicePtr").As<Napi::BigInt>().Uint64Value(&lossless));
    b.length = static_cast<size_t>(o.Get("length").As<Napi::Number>().Int64Value());
    b.device = Device::kCuda;
    return b;
  }
  Throw(v.Env(), Code::kDType, std::string(what) + ": expected a Float32Array or device buffer");
}

Buffer GetOptionalBuffer(const Napi::Value& v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return Buffer{};
  return GetBuffer(v, what);
}

void RequireLength(Napi::Env env, const Buffer& b, size_t need, const char* what) {
  if (b.length < need) {
    Throw(env, Code::kShape, std::string(what) + ": expected at least " + std::to_string(need) +
                                 " elements, got " + std::to_string(b.length));
  }
}

Napi::Uint32Array GetUint32Array(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    Throw(v.Env(), Code::kDType, std::string(what) + ": expected a Uint32Array");
  }
  return v.As<Napi::Uint32Array>();
}

Napi::Int32Array GetInt32Array(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    Throw(v.Env(), Code::kDType, std::string(what) + ": expected an Int32Array");
  }
  return v.As<Napi::Int32Array>();
}

int64_t GetInt(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) Throw(v.Env(), Code::kDType, std::string(what) + ": expected an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == static_cast<double>(static_cast<int64_t>(d)))) {
    Throw(v.Env(), Code::kRange, std::string(what) + ": expected an integer");
  }
  return static_cast<int64_t>(d);
}

int64_t GetSize(const Napi::Value& v, const char* what) {
  const int64_t n = GetInt(v, what);
  if (n < 0 || n > (int64_t{1} << 40)) Throw(v.Env(), Code::kShape, std::string(what) + ": expected a size in [0, 2^40]");
  return n;
}

double GetNumber(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) Throw(v.Env(), Code::kDType, std::string(what) + ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool GetBool(const Napi::Value& v, const char* what) {
  if (!v.IsBoolean()) Throw(v.Env(), Code::kDType, std::string(what) + ": expected a boolean");
  return v.As<Napi::Boolean>().Value();
}

uint64_t GetSeed(const Napi::Value& v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) Throw(v.Env(), Code::kRange, std::string(what) + ": expected 0 <= seed < 2^64");
    return s;
  }
  const int64_t s = GetInt(v, what);
  if (s < 0) Throw(v.Env(), Code::kRange, std::string(what) + ": expected 0 <= seed < 2^64");
  return static_cast<uint64_t>(s);
}

std::string GetString(const Napi::Value& v, const char* what) {
  if (!v.IsString()) Throw(v.Env(), Code::kDType, std::string(what) + ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}

namespace {

Status Guarded(const Work& work) {
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
  OpWorker(Napi::Env env, const std::vector<Napi::Value>& keep, Work work, Result result)
      : Napi::AsyncWorker(env, "frugal"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)) {
    for (const Napi::Value& v : keep) {
      if (v.IsObject()) keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override { status_ = Guarded(work_); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!status_.ok()) {
      deferred_.Reject(MakeError(env, status_).Value());
      return;
    }
    try {
      deferred_.Resolve(result_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> keep_;
  Work work_;
  Result result_;
  Status status_;
};

}  // namespace

Napi::Value Run(Napi::Env env, bool async, const std::vector<Napi::Value>& keep, Work work,
                Result result) {
  if (!async) {
    Status s = Guarded(work);
    if (!s.ok()) throw MakeError(env, s);
    return result(env);
  }
  auto* worker = new OpWorker(env, keep, std::move(work), std::move(result));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Device OneDevice(Napi::Env env, const char* op, std::initializer_list<const Buffer*> buffers) {
  const Buffer* first = nullptr;
  for (const Buffer* b : buffers) {
    if (!b->data && b->length == 0) continue;
    if (!first) {
      first = b;
    } else if (b->device != first->device) {
      Throw(env, Code::kDevice, std::string(op) + ": all buffers must be on one device");
    }
  }
  return first ? first->device : Device::kCpu;
}

Context ContextFor(Device device) {
  Context ctx;
  ctx.device = device;
  return ctx;
}

}  // namespace addon
}  // namespace frugal
