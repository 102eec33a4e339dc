#include "frugal/status.h"

namespace frugal {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kShape: return "E_SHAPE";
    case Code::kDType: return "E_DTYPE";
    case Code::kRange: return "E_RANGE";
    case Code::kDevice: return "E_DEVICE";
    case Code::kConfig: return "E_CONFIG";
    case Code::kNative: return "E_NATIVE";
    case Code::kAborted: return "E_ABORTED";
  }
  return "E_NATIVE";
}

}  // namespace frugal
