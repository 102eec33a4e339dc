#include "pin.h"

#include <v8.h>

#include <cstring>

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

}  // namespace

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
