// Scalar reference of ComposePld: the composition by direct convolution, one step at
// a time, with nothing truncated. O(T²·n²): for the tests' small grids only.
#include <cmath>

#include "frugal/pld.h"

namespace frugal {

namespace {

void Convolve(const PldPmf& a, const PldPmf& b, PldPmf* out) {
  PldPmf c;
  c.offset = a.offset + b.offset;
  c.mass.assign(a.mass.size() + b.mass.size() - 1, 0.0);
  for (size_t i = 0; i < a.mass.size(); ++i) {
    for (size_t j = 0; j < b.mass.size(); ++j) c.mass[i + j] += a.mass[i] * b.mass[j];
  }
  c.infinity = 1 - (1 - a.infinity) * (1 - b.infinity);
  *out = std::move(c);
}

}  // namespace

Status ComposePldReference(const PldPhase* phases, int64_t count, double h, PldPair* out) {
  out->remove = out->add = PldPmf{{1.0}, 0, 0.0};
  for (int64_t k = 0; k < count; ++k) {
    PldPair step;
    if (phases[k].steps == 0) continue;
    FRUGAL_RETURN_IF_ERROR(GaussianPld(phases[k].q, phases[k].sigma, h, &step));
    for (int64_t t = 0; t < phases[k].steps; ++t) {
      Convolve(out->remove, step.remove, &out->remove);
      Convolve(out->add, step.add, &out->add);
    }
  }
  return Status::Ok();
}

}  // namespace frugal
