#include "core/packed.h"

#include <string>

namespace frugal {

Status PackedOffsets::Check(const char* op, bool nonempty) const {
  if (batch_ < 0) return Status::Shape(std::string(op) + ": expected batch >= 0, got " + std::to_string(batch_));
  if (!host_) return NullArgument(op, "offsets");
  if (host_[0] != 0) return Status::Shape(std::string(op) + ": offsets[0] must be 0, got " + std::to_string(host_[0]));
  for (int64_t b = 0; b < batch_; ++b) {
    if (host_[b + 1] < host_[b] || (nonempty && host_[b + 1] == host_[b])) {
      return Status::Shape(std::string(op) + ": offsets must be " + (nonempty ? "increasing" : "non-decreasing") +
                           ", got offsets[" + std::to_string(b) + "] = " + std::to_string(host_[b]) + ", offsets[" +
                           std::to_string(b + 1) + "] = " + std::to_string(host_[b + 1]));
    }
  }
  return Status::Ok();
}

#ifdef FRUGAL_WITH_CUDA
Status DeviceInts::Get(const int32_t** out) {
  if (!device_.raw()) {
    const int64_t bytes = n_ * static_cast<int64_t>(sizeof(int32_t));
    FRUGAL_RETURN_IF_ERROR(device_.Allocate(bytes));
    FRUGAL_RETURN_IF_ERROR(CudaCopyToDevice(device_.raw(), host_, static_cast<size_t>(bytes)));
  }
  *out = static_cast<const int32_t*>(device_.raw());
  return Status::Ok();
}
#endif

}  // namespace frugal
