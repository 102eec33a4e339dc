// One persistent pool of worker threads shared by every CPU kernel.
//
// ParallelFor hands out task indices from an atomic counter; the caller works
// too. Task boundaries are chosen by the kernels independently of the thread
// count, so results are the same whatever SetNumThreads says. Callers from
// different threads (async workers) take turns; a call from inside a task runs
// inline. Idle workers spin briefly before sleeping so back-to-back kernels do
// not pay a futex wake-up each. A job posted under a set CancelScope flag stops
// handing out tasks (checked before each one, on every thread).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "frugal/context.h"

namespace frugal {
namespace {

thread_local bool t_in_task = false;
thread_local const std::atomic<bool>* t_cancel = nullptr;  // this thread's CancelScope flag

bool Cancelled(const std::atomic<bool>* flag) { return flag && flag->load(std::memory_order_relaxed); }

class ThreadPool {
 public:
  ThreadPool() { Resize(DefaultThreads()); }
  ~ThreadPool() { Stop(); }

  static int DefaultThreads() {
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
  }

  int size() const { return threads_; }

  void Resize(int n) {
    std::lock_guard<std::mutex> caller(call_mu_);
    Stop();
    threads_ = n;
    stop_ = false;
    // Workers start from the current generation, so a job posted before a
    // new thread first runs is still seen by it.
    const uint64_t now = generation_.load();
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, now] { WorkerLoop(now); });
  }

  void Run(int64_t tasks, const std::function<void(int64_t)>& fn) {
    if (tasks <= 0) return;
    if (tasks == 1 || threads_ == 1 || t_in_task) {
      for (int64_t t = 0; t < tasks && !Cancelled(t_cancel); ++t) fn(t);
      return;
    }
    std::lock_guard<std::mutex> caller(call_mu_);
    fn_ = &fn;
    cancel_ = t_cancel;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    Drain();
    // Wait until every worker has left this job, so fn_ can be reused.
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

 private:
  void Drain() {
    t_in_task = true;
    CancelScope nested(cancel_);  // nested ParallelFor calls run inline under the job's flag
    for (;;) {
      int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks_ || Cancelled(cancel_)) break;
      (*fn_)(t);
    }
    t_in_task = false;
  }

  void WorkerLoop(uint64_t seen) {
    for (;;) {
      // Spin a little for the next job before sleeping.
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (generation_.load(std::memory_order_acquire) == seen && !stop_.load() &&
             std::chrono::steady_clock::now() < until) {
        std::this_thread::yield();
      }
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_.load() || generation_.load() != seen; });
      }
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      Drain();
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::mutex call_mu_;  // one ParallelFor at a time
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> next_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int64_t)>* fn_ = nullptr;
  const std::atomic<bool>* cancel_ = nullptr;  // the posting thread's CancelScope flag
  int64_t tasks_ = 0;
  int threads_ = 1;
};

ThreadPool& Pool() {
  static ThreadPool* pool = new ThreadPool();  // never destroyed: workers may outlive statics
  return *pool;
}

}  // namespace

Status SetNumThreads(int n) {
  if (n < 1 || n > 1024) {
    return Status::Range("threads: expected an integer in [1, 1024], got " + std::to_string(n));
  }
  if (n != Pool().size()) Pool().Resize(n);
  return Status::Ok();
}

int NumThreads() { return Pool().size(); }

void ParallelFor(int64_t tasks, const std::function<void(int64_t)>& fn) { Pool().Run(tasks, fn); }

CancelScope::CancelScope(const std::atomic<bool>* flag) : previous_(t_cancel) { t_cancel = flag; }
CancelScope::~CancelScope() { t_cancel = previous_; }

}  // namespace frugal
