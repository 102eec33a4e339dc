// PLD accountant glue: lib/dp/pld.ts's composition call. Phases arrive as one
// Float64Array of (q, σ, steps) triples, checked in TypeScript; the core checks again.
// The composed pair returns as { remove, add }, each { mass: Float64Array, offset, infinity }.
#include <cstring>
#include <vector>

#include "common.h"
#include "frugal/pld.h"

namespace frugal {
namespace addon {
namespace {

Napi::Object PmfObject(Napi::Env env, const PldPmf& pmf) {
  Napi::Float64Array mass = Napi::Float64Array::New(env, pmf.mass.size());
  if (!pmf.mass.empty()) std::memcpy(mass.Data(), pmf.mass.data(), pmf.mass.size() * sizeof(double));
  Napi::Object o = Napi::Object::New(env);
  o.Set("mass", mass);
  o.Set("offset", Napi::Number::New(env, static_cast<double>(pmf.offset)));
  o.Set("infinity", Napi::Number::New(env, pmf.infinity));
  return o;
}

Napi::Value ComposeFn(const Napi::CallbackInfo& info) {
  Args args(info, "dp.pld.compose");
  size_t length = 0;
  const double* triples = args.Doubles("phases", &length);
  if (length % 3 != 0) args.Fail(Code::kShape, "phases", "expected (q, sigma, steps) triples, got " + std::to_string(length) + " numbers");
  std::vector<PldPhase> phases(length / 3);
  for (size_t k = 0; k < phases.size(); ++k) {
    const double steps = triples[3 * k + 2];
    if (!(steps >= 0 && steps <= 9007199254740991.0) || steps != static_cast<double>(static_cast<int64_t>(steps))) {
      args.Fail(Code::kRange, "phases", "steps of phase " + std::to_string(k) + " is not an integer in [0, 2^53)");
    }
    phases[k] = {triples[3 * k], triples[3 * k + 1], static_cast<int64_t>(steps)};
  }
  const double h = args.Number("discretization");
  PldPair pair;
  args.Run([&] { return ComposePld(phases.data(), static_cast<int64_t>(phases.size()), h, &pair); });
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("remove", PmfObject(info.Env(), pair.remove));
  out.Set("add", PmfObject(info.Env(), pair.add));
  return out;
}

void Init(Napi::Env env, Napi::Object exports) { Export(env, exports, "dpPldCompose", ComposeFn); }

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
