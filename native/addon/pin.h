// The one place the addon reaches past Node-API into V8: pinning the memory of a
// typed array for an async call.
//
// Node-API can hold a typed array alive, but not its memory: transferring the
// ArrayBuffer (structuredClone with `transfer`, postMessage) detaches it and hands
// the memory to a new owner that may be collected while a kernel on a worker
// thread still reads or writes it, and a resizable ArrayBuffer can shrink under
// the kernel. Both crashed the process. A pin holds V8's reference-counted backing
// store itself, so the memory lives until the call settles whatever JavaScript
// does to the buffer meanwhile.
#pragma once
#include <node_api.h>

#include <memory>

namespace frugal {
namespace addon {

// The backing store of `typed_array` (a napi typed array value), kept alive while
// the returned handle lives. *shrinkable is set when JavaScript could shrink it
// (a resizable, non-shared ArrayBuffer), which no pin can make safe.
std::shared_ptr<void> PinTypedArray(napi_value typed_array, bool* shrinkable);

}  // namespace addon
}  // namespace frugal
