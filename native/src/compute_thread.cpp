#include "compute_thread.h"

#include "thread_limits.h"

#include <pthread.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace ibot4j {
namespace {

thread_local bool on_companion = false;

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
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &job;
    done_ = false;
    wake_.notify_one();
    finished_.wait(lock, [this] { return done_; });
    return result_;
  }

 private:
  static void* main(void* self) {
    on_companion = true;
    static_cast<Companion*>(self)->loop();
    return nullptr;
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stop_ || job_ != nullptr; });
      if (job_ == nullptr) return;  // stop with nothing pending
      const auto* job = job_;
      job_ = nullptr;
      lock.unlock();
      const int32_t result = (*job)();
      lock.lock();
      result_ = result;
      done_ = true;
      finished_.notify_one();
    }
  }

  pthread_t thread_{};
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  const std::function<int32_t()>* job_ = nullptr;
  int32_t result_ = 0;
  bool done_ = false;
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
