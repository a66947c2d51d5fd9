#include "compute_thread.h"

#include "thread_limits.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace ibot4j {
namespace {

thread_local bool on_companion = false;

// How long each side of a hand-off polls before it sleeps on its condition variable. A sleeping thread is woken
// through the kernel (futex) and then waits for the scheduler, tens of microseconds on an idle core; polling
// shortly first makes a call's hand-off and its return cost about as much as two cache-line transfers when the
// compute is short (an Encoder serving one image) or calls come back to back, and costs a long call at most this
// much of one core.
constexpr auto kPoll = std::chrono::microseconds(50);

template <typename Ready>
bool poll(const Ready& ready) {
  const auto until = std::chrono::steady_clock::now() + kPoll;
  do {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  } while (std::chrono::steady_clock::now() < until);
  return ready();
}

// One caller's companion: a thread with a known stack that runs that caller's jobs one at a time.
class Companion {
 public:
  Companion() {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kComputeStackBytes);
    // A variable-length array larger than a 4 KiB guard page could step over it into other memory.
    pthread_attr_setguardsize(&attr, std::size_t{1} << 20);
    const int rc = pthread_create(&thread_, &attr, &Companion::main, this);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      throw std::runtime_error(std::string("could not start ibot4j's compute thread (") + std::strerror(rc) +
                               "; limits: " + thread_limits() +
                               "): lower the threads this process starts, or raise the limit");
    }
  }

  ~Companion() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    pthread_join(thread_, nullptr);
  }

  int32_t run(const std::function<int32_t()>& job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.store(false, std::memory_order_relaxed);
      job_.store(&job, std::memory_order_release);
      if (companion_asleep_) wake_.notify_one();
    }
    if (!poll([this] { return done_.load(std::memory_order_acquire); })) {
      std::unique_lock<std::mutex> lock(mutex_);
      caller_asleep_ = true;
      finished_.wait(lock, [this] { return done_.load(std::memory_order_acquire); });
      caller_asleep_ = false;
    }
    return result_;
  }

 private:
  static void* main(void* self) {
    on_companion = true;
    static_cast<Companion*>(self)->loop();
    return nullptr;
  }

  void loop() {
    for (;;) {
      const std::function<int32_t()>* job = nullptr;
      {
        // A caller publishes its job under the mutex; polled first, then waited for.
        const bool ready = poll([this] { return job_.load(std::memory_order_acquire) != nullptr; });
        std::unique_lock<std::mutex> lock(mutex_);
        if (!ready) {
          companion_asleep_ = true;
          wake_.wait(lock, [this] { return stop_ || job_.load(std::memory_order_relaxed) != nullptr; });
          companion_asleep_ = false;
        }
        job = job_.exchange(nullptr, std::memory_order_acq_rel);
        if (job == nullptr && stop_) return;  // stop with nothing pending
      }
      if (job == nullptr) continue;
      const int32_t result = (*job)();
      std::lock_guard<std::mutex> lock(mutex_);
      result_ = result;
      done_.store(true, std::memory_order_release);
      if (caller_asleep_) finished_.notify_one();
    }
  }

  pthread_t thread_{};
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::atomic<const std::function<int32_t()>*> job_{nullptr};
  std::atomic<bool> done_{false};
  int32_t result_ = 0;
  bool companion_asleep_ = false;
  bool caller_asleep_ = false;
  bool stop_ = false;
};

// Destroyed (the companion joined) when the calling thread exits.
thread_local std::unique_ptr<Companion> companion;

}  // namespace

int32_t run_on_compute_thread(const std::function<int32_t()>& job) {
  if (on_companion) return job();
  if (!companion) companion = std::make_unique<Companion>();
  return companion->run(job);
}

std::size_t current_stack_bytes() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  std::size_t size = 0;
  void* base = nullptr;
  pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  return size;
}

}  // namespace ibot4j
