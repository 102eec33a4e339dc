// k-means glue: the arguments of lib/kmeans.ts's …Args interfaces, read by
// name. Labels and counts are Int32Arrays and the scalar results one
// Float64Array, on the host whatever X's device; sizes were checked in TypeScript.
#include "common.h"
#include "frugal/kmeans.h"

namespace frugal {
namespace addon {
namespace {

// n, dim, K and X, read first by every k-means function.
struct Problem {
  int64_t n, dim, K;
  const float* X;
};

Problem ReadProblem(Args& args) {
  Problem p;
  p.n = args.Size("n");
  p.dim = args.Size("dim");
  p.K = args.Size("K");
  p.X = args.Tensor("X", args.Count({p.n, p.dim}));
  return p;
}

int32_t* HostInts(Args& args, const char* key, int64_t need) {
  size_t length = 0;
  int32_t* v = args.Int32s(key, &length);
  if (length < static_cast<size_t>(need)) args.Fail(Code::kShape, key, "expected at least " + std::to_string(need) + " elements");
  return v;
}

// stats: [inertia, changed, shift, repaired], written when the call settles.
double* Stats(Args& args) {
  size_t length = 0;
  double* s = args.Doubles("stats", &length);
  if (length < 4) args.Fail(Code::kShape, "stats", "expected a Float64Array of 4");
  return s;
}

Napi::Value PlusPlusFn(const Napi::CallbackInfo& info) {
  Args args(info, "kmeansPlusPlus");
  const Problem q = ReadProblem(args);
  KMeansPlusPlusParams p;
  p.n = q.n, p.dim = q.dim, p.K = q.K, p.X = q.X;
  p.seed = args.Seed("seed");
  p.sub = static_cast<uint32_t>(args.Int("sub", 0, 0xffffffffll));
  p.centroids = args.Tensor("centroids", args.Count({q.K, q.dim}));
  p.chosen = HostInts(args, "chosen", q.K);
  args.Apart("centroids", {"X"});
  const Context ctx = args.context();
  return args.Run([=] { return KMeansPlusPlus(ctx, p); });
}

Napi::Value StepFn(const Napi::CallbackInfo& info) {
  Args args(info, "kmeansStep");
  const Problem q = ReadProblem(args);
  KMeansStepParams p;
  KMeansUpdateParams& u = p.update;
  u.n = q.n, u.dim = q.dim, u.K = q.K, u.X = q.X;
  u.previous = args.Tensor("previous", args.Count({q.K, q.dim}));
  u.centroids = args.Tensor("centroids", args.Count({q.K, q.dim}));
  u.labels = HostInts(args, "labels", q.n);
  u.counts = HostInts(args, "counts", q.K);
  double* stats = Stats(args);
  args.Apart("centroids", {"X", "previous"});
  const Context ctx = args.context();
  return args.Run([=]() mutable {
    int64_t changed = 0, repaired = 0;
    p.inertia = &stats[0];
    p.changed = &changed;
    p.update.shift = &stats[2];
    p.update.repaired = &repaired;
    FRUGAL_RETURN_IF_ERROR(KMeansStep(ctx, p));
    stats[1] = static_cast<double>(changed);
    stats[3] = static_cast<double>(repaired);
    return Status::Ok();
  });
}

Napi::Value AssignFn(const Napi::CallbackInfo& info) {
  Args args(info, "kmeansAssign");
  const Problem q = ReadProblem(args);
  KMeansAssignParams p;
  p.n = q.n, p.dim = q.dim, p.K = q.K, p.X = q.X;
  p.centroids = args.Tensor("centroids", args.Count({q.K, q.dim}));
  p.labels = HostInts(args, "labels", q.n);
  double* stats = Stats(args);
  const Context ctx = args.context();
  return args.Run([=]() mutable {
    int64_t changed = 0;
    p.inertia = &stats[0];
    p.changed = &changed;
    FRUGAL_RETURN_IF_ERROR(KMeansAssign(ctx, p));
    stats[1] = static_cast<double>(changed);
    return Status::Ok();
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "kmeansPlusPlus", PlusPlusFn);
  Export(env, exports, "kmeansStep", StepFn);
  Export(env, exports, "kmeansAssign", AssignFn);
}

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
