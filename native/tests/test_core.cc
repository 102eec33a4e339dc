// Core services: ISA switch, thread pool determinism and nesting, status names.
#include <atomic>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/isa.h"

using namespace frugal;

FRUGAL_TEST(isa_switch_refuses_levels_above_the_cpu) {
  const Isa saved = ActiveIsa();
  FRUGAL_CHECK_OK(SetIsa(Isa::kRef));
  FRUGAL_CHECK(ActiveIsa() == Isa::kRef);
  if (MaxIsa() != Isa::kAvx512) FRUGAL_CHECK(!SetIsa(Isa::kAvx512).ok());
  Isa parsed;
  FRUGAL_CHECK(ParseIsa("avx2", &parsed) && parsed == Isa::kAvx2);
  FRUGAL_CHECK(!ParseIsa("sse", &parsed));
  FRUGAL_CHECK_OK(SetIsa(saved));
}

FRUGAL_TEST(parallel_for_runs_every_task_once_at_any_thread_count) {
  for (int threads : {1, 2, 3, 8}) {
    FRUGAL_CHECK_OK(SetNumThreads(threads));
    std::vector<std::atomic<int>> hits(1000);
    ParallelFor(1000, [&](int64_t t) { hits[t].fetch_add(1); });
    for (auto& h : hits) FRUGAL_CHECK(h.load() == 1) << "threads=" << threads;
  }
  FRUGAL_CHECK(!SetNumThreads(0).ok());
}

FRUGAL_TEST(parallel_for_nests_inline) {
  FRUGAL_CHECK_OK(SetNumThreads(4));
  std::atomic<int> total{0};
  ParallelFor(8, [&](int64_t) { ParallelFor(8, [&](int64_t) { total.fetch_add(1); }); });
  FRUGAL_CHECK(total.load() == 64);
}

FRUGAL_TEST(status_codes_have_stable_names) {
  FRUGAL_CHECK(std::string(CodeName(Code::kShape)) == "E_SHAPE");
  FRUGAL_CHECK(std::string(CodeName(Code::kNative)) == "E_NATIVE");
}

FRUGAL_TEST_MAIN
