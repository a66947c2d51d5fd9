#include "thread_limits.h"

#include <ATen/Parallel.h>
#include <pthread.h>
#include <sys/resource.h>

#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace ibot4j {
namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

// The process's cgroup folder for the pids controller: its cgroup v1 hierarchy ("N:pids:/path"), else the
// v2 one ("0::/path", under /sys/fs/cgroup or, on a hybrid system, /sys/fs/cgroup/unified); "" if neither.
std::string pids_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, v2;
  while (std::getline(in, line)) {
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1), path = line.substr(second + 1);
    if (controllers.empty()) {
      std::ifstream unified_root("/sys/fs/cgroup/cgroup.controllers");
      v2 = (unified_root ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified") + path;
    } else if (("," + controllers + ",").find(",pids,") != std::string::npos) {
      return "/sys/fs/cgroup/pids" + path;
    }
  }
  return v2;
}

// Threads that wait until released: the probe holds all of them at once, as the OpenMP pool would.
class Probe {
 public:
  explicit Probe(int count) {
    threads_.reserve(count);
    for (int i = 0; i < count; i++) {
      pthread_t t;
      const int rc = pthread_create(&t, nullptr, &Probe::wait, this);
      if (rc != 0) {
        error_ = rc;
        break;
      }
      threads_.push_back(t);
    }
  }

  ~Probe() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    release_.notify_all();
    for (pthread_t t : threads_) pthread_join(t, nullptr);
  }

  int started() const { return static_cast<int>(threads_.size()); }
  int error() const { return error_; }

 private:
  static void* wait(void* self) {
    auto* probe = static_cast<Probe*>(self);
    std::unique_lock<std::mutex> lock(probe->mutex_);
    probe->release_.wait(lock, [probe] { return probe->released_; });
    return nullptr;
  }

  std::vector<pthread_t> threads_;
  std::mutex mutex_;
  std::condition_variable release_;
  bool released_ = false;
  int error_ = 0;
};

std::mutex set_mutex;
int checked_threads = 0;  // the largest count already started once in this process

}  // namespace

std::string thread_limits() {
  std::ostringstream out;
  const std::string cgroup = pids_cgroup();
  const std::string pids_max = cgroup.empty() ? "" : first_line(cgroup + "/pids.max");
  if (!pids_max.empty()) {
    out << "pids.max " << pids_max << " with " << first_line(cgroup + "/pids.current") << " in use in cgroup " << cgroup
        << ", ";
  }
  rlimit nproc{};
  if (getrlimit(RLIMIT_NPROC, &nproc) == 0) {
    out << "ulimit -u ";
    if (nproc.rlim_cur == RLIM_INFINITY)
      out << "unlimited";
    else
      out << nproc.rlim_cur;
    out << ", ";
  }
  out << "kernel threads-max " << first_line("/proc/sys/kernel/threads-max");
  return out.str();
}

void set_intra_op_threads(int n) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(set_mutex);
  if (n > checked_threads) {
    // The calling thread is one of the team, so the pool adds n - 1 threads.
    Probe probe(n - 1);
    if (probe.error() != 0) {
      std::ostringstream message;
      message << "could start only " << probe.started() + 1 << " of the " << n << " intra-op threads asked for ("
              << std::strerror(probe.error()) << "; limits: " << thread_limits()
              << "): ask for fewer threads (--threads, Options.threads, num_threads) or raise the limit";
      throw std::runtime_error(message.str());
    }
    checked_threads = n;
  }
  at::set_num_threads(n);
}

}  // namespace ibot4j
