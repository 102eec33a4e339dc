// Core services: ISA switch, thread pool determinism and nesting, status names.
#include <atomic>
#include <vector>

#include "check.h"
#include "core/front_end.h"
#include "core/packed.h"
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

// A set CancelScope flag stops handing out tasks, on every thread and in nested
// calls; a task already running finishes. Without a scope, or with the flag
// clear, every task runs.
FRUGAL_TEST(parallel_for_stops_handing_out_tasks_once_cancelled) {
  std::atomic<bool> flag{false};
  FRUGAL_CHECK_OK(SetNumThreads(1));
  {
    CancelScope scope(&flag);
    std::vector<int> ran;
    ParallelFor(100, [&](int64_t t) {
      ran.push_back(static_cast<int>(t));
      if (t == 3) flag.store(true);
    });
    FRUGAL_CHECK(ran.size() == 4) << ran.size();  // one thread: tasks 0..3, then nothing
  }
  for (int threads : {2, 4}) {
    FRUGAL_CHECK_OK(SetNumThreads(threads));
    std::atomic<int> ran{0}, nested{0};
    flag.store(true);
    {
      CancelScope scope(&flag);
      ParallelFor(1000, [&](int64_t) { ran.fetch_add(1); });
    }
    FRUGAL_CHECK(ran.load() == 0) << "threads=" << threads;
    flag.store(false);
    {
      CancelScope scope(&flag);
      // The outer job's flag reaches the inner calls that run inline on the workers.
      ParallelFor(8, [&](int64_t t) {
        if (t == 0) flag.store(true);
        ParallelFor(8, [&](int64_t) { nested.fetch_add(1); });
      });
    }
    FRUGAL_CHECK(nested.load() < 64) << "threads=" << threads << " nested=" << nested.load();
    ran.store(0);
    ParallelFor(1000, [&](int64_t) { ran.fetch_add(1); });  // the scope is gone
    FRUGAL_CHECK(ran.load() == 1000);
  }
}

// The one dispatch: the device check first (one wording), then the empty rule
// (its writer, neither path), then the path of the operands' device.
FRUGAL_TEST(dispatch_orders_device_check_empty_rule_and_paths) {
  Context cpu, cuda;
  cuda.device = Device::kCuda;
  int cpu_runs = 0, cuda_runs = 0, empty_writes = 0;
  const auto on_cpu = [&] { ++cpu_runs; return Status::Ok(); };
  const auto writer = [&] { ++empty_writes; return Status::Ok(); };
  FRUGAL_CHECK_OK(Dispatch("op", cpu, Empty{false}, on_cpu, FRUGAL_CUDA_PATH((++cuda_runs, Status::Ok()))));
  FRUGAL_CHECK(cpu_runs == 1 && cuda_runs == 0);
  FRUGAL_CHECK_OK(Dispatch("op", cpu, Empty{true, writer}, on_cpu, FRUGAL_CUDA_PATH((++cuda_runs, Status::Ok()))));
  FRUGAL_CHECK(cpu_runs == 1 && empty_writes == 1) << "an empty call runs its writer, not the kernel";
  FRUGAL_CHECK_OK(Dispatch("op", cpu, Empty{true}, on_cpu, FRUGAL_CUDA_PATH((++cuda_runs, Status::Ok()))));
  FRUGAL_CHECK(cpu_runs == 1);
#ifdef FRUGAL_WITH_CUDA
  FRUGAL_CHECK_OK(Dispatch("op", cuda, Empty{false}, on_cpu, FRUGAL_CUDA_PATH((++cuda_runs, Status::Ok()))));
  FRUGAL_CHECK(cuda_runs == 1 && cpu_runs == 1);
#else
  for (const bool empty : {false, true}) {
    const Status s = Dispatch("dp.clipRows", cuda, Empty{empty, writer}, on_cpu, FRUGAL_CUDA_PATH(Status::Ok()));
    FRUGAL_CHECK(s.code() == Code::kDevice);
    FRUGAL_CHECK(s.message() == "dp.clipRows: this build of Frugal has no CUDA backend") << s.message();
  }
  FRUGAL_CHECK(empty_writes == 1 && cpu_runs == 1) << "device memory without the backend is refused before anything runs";
#endif
}

FRUGAL_TEST(packed_offsets_are_checked_once_for_every_family) {
  const int32_t good[] = {0, 2, 2, 5}, decreasing[] = {0, 3, 2}, shifted[] = {1, 2};
  FRUGAL_CHECK_OK(PackedOffsets(good, 3).Check("op", false));
  FRUGAL_CHECK(PackedOffsets(good, 3).total() == 5);
  FRUGAL_CHECK(PackedOffsets(good, 3).Check("op", true).code() == Code::kShape) << "an empty sample where rows are needed";
  const Status s = PackedOffsets(decreasing, 2).Check("op", false);
  FRUGAL_CHECK(s.code() == Code::kShape && s.message().find("offsets[1] = 3, offsets[2] = 2") != std::string::npos) << s.message();
  FRUGAL_CHECK(PackedOffsets(shifted, 1).Check("op", false).code() == Code::kShape);
  FRUGAL_CHECK(PackedOffsets(nullptr, 1).Check("op", false).code() == Code::kNative);
  FRUGAL_CHECK(PackedOffsets(good, -1).Check("op", false).code() == Code::kShape);
}

FRUGAL_TEST(status_codes_have_stable_names) {
  FRUGAL_CHECK(std::string(CodeName(Code::kShape)) == "E_SHAPE");
  FRUGAL_CHECK(std::string(CodeName(Code::kNative)) == "E_NATIVE");
  FRUGAL_CHECK(std::string(CodeName(Code::kAborted)) == "E_ABORTED");
}

FRUGAL_TEST_MAIN
