#include "pin.h"

#include <v8.h>

#include <cstring>
#include <unordered_map>

namespace frugal {
namespace addon {

namespace {

// Node implements napi_value as a v8::Local<v8::Value> (js_native_api_v8.h); this
// is the conversion Node itself uses. Only valid inside a Node-API callback.
v8::Local<v8::Value> V8Value(napi_value value) {
  static_assert(sizeof(v8::Local<v8::Value>) == sizeof(napi_value), "napi_value is not a v8::Local here");
  v8::Local<v8::Value> local;
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  return local;
}

napi_value NapiValue(v8::Local<v8::Value> local) {
  napi_value value;
  std::memcpy(&value, static_cast<void*>(&local), sizeof(value));
  return value;
}

}  // namespace

napi_value GetByKey(napi_value object, const char* key) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  // One cache per thread, for the isolate running on it (worker threads have their own).
  thread_local v8::Isolate* owner = nullptr;
  thread_local std::unordered_map<const char*, v8::Eternal<v8::String>> keys;
  if (owner != isolate) {
    keys.clear();
    owner = isolate;
  }
  auto it = keys.find(key);
  if (it == keys.end()) {
    v8::Local<v8::String> name;
    if (!v8::String::NewFromUtf8(isolate, key, v8::NewStringType::kInternalized).ToLocal(&name)) {
      return NapiValue(v8::Undefined(isolate));
    }
    it = keys.emplace(key, v8::Eternal<v8::String>(isolate, name)).first;
  }
  const v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::TryCatch quiet(isolate);
  v8::Local<v8::Value> value;
  if (!V8Value(object).As<v8::Object>()->Get(context, it->second.Get(isolate)).ToLocal(&value)) {
    value = v8::Undefined(isolate);
  }
  return NapiValue(value);
}

std::shared_ptr<void> PinTypedArray(napi_value typed_array, bool* shrinkable) {
  const v8::Local<v8::Value> value = V8Value(typed_array);
  *shrinkable = false;
  if (!value->IsArrayBufferView()) return nullptr;
  const v8::Local<v8::ArrayBufferView> view = value.As<v8::ArrayBufferView>();
  std::shared_ptr<v8::BackingStore> store = view->Buffer()->GetBackingStore();
  *shrinkable = store->IsResizableByUserJavaScript() && !store->IsShared();
  return std::shared_ptr<void>(store, store->Data());
}

}  // namespace addon
}  // namespace frugal
