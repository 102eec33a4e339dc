// The modules' flat parameter layouts, expanded from the X-macro lists of
// frugal/hadamard.h: the one place their shapes are written.
#include <initializer_list>
#include <vector>

#include "frugal/hadamard.h"

namespace frugal {
namespace {

#define FRUGAL_DIMS(...) {__VA_ARGS__}
#define FRUGAL_SLOT(field, key, shape) Add(out, key, FRUGAL_DIMS shape);

void Add(std::vector<ModuleTensor>& out, const char* key, std::initializer_list<int64_t> dims) {
  ModuleTensor t{key, static_cast<int>(dims.size()), {1, 1, 1, 1}, 0, 1};
  int i = 0;
  for (int64_t d : dims) t.dims[i++] = d, t.size *= d;
  t.offset = out.empty() ? 0 : out.back().offset + out.back().size;
  out.push_back(t);
}

bool Quarters(int64_t a, int64_t b) { return a >= 4 && a % 4 == 0 && b >= 1; }

}  // namespace

std::vector<ModuleTensor> GhpaLayout(int64_t C, int64_t O) {
  std::vector<ModuleTensor> out;
  if (!Quarters(C, O)) return out;
  const int64_t c = C / 4;
  FRUGAL_GHPA_TENSORS(FRUGAL_SLOT)
  return out;
}

std::vector<ModuleTensor> GabLayout(int64_t Ch, int64_t Cl) {
  std::vector<ModuleTensor> out;
  if (!Quarters(Cl, Ch)) return out;
  const int64_t gc = Cl / 2 + 1, G = 4 * gc;
  FRUGAL_GAB_TENSORS(FRUGAL_SLOT)
  return out;
}
#undef FRUGAL_SLOT
#undef FRUGAL_DIMS

// Each field of a weights/grads struct, in list order, gets its slot's address.
#define FRUGAL_VIEW(field, key, shape) out.field = flat + layout[i++].offset;
#define FRUGAL_VIEWS(Out, Layout, LIST, a, b) \
  const std::vector<ModuleTensor> layout = Layout(a, b); \
  Out out;                                              \
  if (layout.empty()) return out;                       \
  size_t i = 0;                                         \
  LIST(FRUGAL_VIEW)                                     \
  return out;

GhpaWeights GhpaWeightsAt(const float* flat, int64_t C, int64_t O) {
  FRUGAL_VIEWS(GhpaWeights, GhpaLayout, FRUGAL_GHPA_TENSORS, C, O)
}
GhpaGrads GhpaGradsAt(float* flat, int64_t C, int64_t O) { FRUGAL_VIEWS(GhpaGrads, GhpaLayout, FRUGAL_GHPA_TENSORS, C, O) }
GabWeights GabWeightsAt(const float* flat, int64_t Ch, int64_t Cl) {
  FRUGAL_VIEWS(GabWeights, GabLayout, FRUGAL_GAB_TENSORS, Ch, Cl)
}
GabGrads GabGradsAt(float* flat, int64_t Ch, int64_t Cl) { FRUGAL_VIEWS(GabGrads, GabLayout, FRUGAL_GAB_TENSORS, Ch, Cl) }
#undef FRUGAL_VIEWS
#undef FRUGAL_VIEW

}  // namespace frugal
