// Module entry: every family file registers itself with FRUGAL_ADDON_FAMILY.
#include "common.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  frugal::addon::ExportCallSupport(env, exports);
  for (frugal::addon::FamilyInit init : frugal::addon::Families()) init(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(frugal, Init)
