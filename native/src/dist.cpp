// Data-parallel groups on PyTorch's own c10d engine: TCPStore rendezvous and ProcessGroupGloo (CPU)
// or ProcessGroupNCCL (CUDA). The only translation unit that includes c10d's backend headers:
// ProcessGroupGloo.hpp names five gloo headers the LibTorch wheel does not ship, and
// native/gloo-decl declares those names without data members (see there), so nothing here can
// depend on gloo's layout. The group is checked at start-up before anyone trusts it.
#include <c10/util/Exception.h>
#include <cxxabi.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "common.h"
#include "dist.h"

namespace ibot4j {

namespace {

std::string current_exception_text() {
  try {
    throw;
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

std::string heartbeat_key(int rank) { return "ibot4j/heartbeat/" + std::to_string(rank); }

// Every rank bumps a counter in the store twice a second, so that after a failed collective the
// survivors can name the rank that stopped: gloo's own message only names a peer's address.
class Heartbeat {
 public:
  Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank) : store_(std::move(store)), rank_(rank) {
    thread_ = std::thread([this] {
      for (long n = 0; !stop_.load(); ++n) {
        try {
          const auto text = std::to_string(n);
          store_->set(heartbeat_key(rank_), std::vector<uint8_t>(text.begin(), text.end()));
        } catch (...) {
          return;  // the store is gone (rank 0 ended): nothing left to report to
        }
        for (int i = 0; i < 5 && !stop_.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~Heartbeat() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  int rank_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The address of this machine that the kernel would send from to reach host:port. The master's own
// address is local only on the master's machine; every other machine must bind Gloo to an address
// of its own that the others reach, the one on the route towards the master. A UDP connect sends
// nothing. Empty when host does not resolve or no route leads there.
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return "";
  std::string local;
  for (const addrinfo* a = found; a != nullptr && local.empty(); a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    char text[NI_MAXHOST];
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
        getnameinfo(reinterpret_cast<sockaddr*>(&address), length, text, sizeof text, nullptr, 0, NI_NUMERICHOST) ==
            0) {
      local = text;
    }
    close(fd);
  }
  freeaddrinfo(found);
  return local;
}

// Gloo's devices as torch.distributed picks them: GLOO_SOCKET_IFNAME (comma-separated interfaces)
// when set, otherwise this machine's address towards the master (127.0.0.1 for a world of one).
std::vector<std::shared_ptr<gloo::transport::Device>> gloo_devices(const std::string& host, int port, int world_size) {
  std::vector<std::shared_ptr<gloo::transport::Device>> devices;
  const char* interfaces = std::getenv("GLOO_SOCKET_IFNAME");
  if (interfaces != nullptr && *interfaces != '\0') {
    std::stringstream list(interfaces);
    for (std::string name; std::getline(list, name, ',');) {
      if (name.empty()) continue;
      try {
        devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } catch (...) {
        throw DistFailure("GLOO_SOCKET_IFNAME=" + std::string(interfaces) + ": Gloo cannot use the interface '" + name +
                          "' (does it exist and have an address? `ip addr` lists them): " + current_exception_text());
      }
    }
    if (!devices.empty()) return devices;
  }
  std::string local = world_size > 1 && host != "localhost" ? local_address_towards(host, port) : "127.0.0.1";
  if (local.empty()) local = host;
  devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(local));
  return devices;
}

}  // namespace

DistFailure::DistFailure(const std::string& message) : std::runtime_error(message) {}

class GroupImpl : public Communicator {
 public:
  explicit GroupImpl(const ibot4j_dist_config& c) : rank_(c.rank), size_(c.world_size) {
    const std::string host = c.master_addr == nullptr ? "" : c.master_addr;
    std::ostringstream problems;
    if (c.world_size < 1) problems << "\n  world_size must be >= 1, got " << c.world_size;
    if (c.rank < 0 || c.rank >= c.world_size) {
      problems << "\n  rank " << c.rank << " is out of range: the ranks of a world of " << c.world_size << " are 0 to "
               << c.world_size - 1;
    }
    if (host.empty()) problems << "\n  master_addr is empty";
    if (c.master_port < 1 || c.master_port > 65535)
      problems << "\n  master_port must be in 1..65535, got " << c.master_port;
    if (!(c.timeout_s > 0)) problems << "\n  timeout_s must be > 0";
    if (!problems.str().empty()) fail("invalid distributed config:", problems.str());
    // The run must stop within timeout_s of a rank going silent, not only start to: the rendezvous and the
    // collectives wait that long less a reserve for naming the lost rank (1.5 s of heartbeats) and for
    // stopping the process (measured with ci/multi-host: about 3.6 s from a peer's death to the exit).
    const auto total = static_cast<int64_t>(c.timeout_s * 1000.0);
    timeout_ = std::chrono::milliseconds(total - std::min<int64_t>(5000, total / 4));
    where_ = host + ":" + std::to_string(c.master_port);

    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(c.master_port);
    so.isServer = c.rank == 0;
    so.numWorkers = c.world_size;
    so.waitWorkers = true;
    so.timeout = timeout_;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(host, so);
    } catch (...) {
      const auto why = current_exception_text();
      if (c.rank == 0) {
        throw DistFailure("rank 0 could not host the rendezvous store on " + where_ + " (is the port in use by " +
                          "another run? choose another --master_port): " + why);
      }
      throw DistFailure("rank " + std::to_string(c.rank) + " could not reach the rendezvous store of rank 0 at " +
                        where_ + " within " + std::to_string(timeout_.count() / 1000.0) +
                        " s (is rank 0 running, with the same MASTER_ADDR and " + "MASTER_PORT?): " + why);
    }
    try {
      if (c.backend == IBOT4J_BACKEND_NCCL) {
#ifdef USE_C10D_NCCL
        auto options = c10d::ProcessGroupNCCL::Options::create();
        options->timeout = timeout_;
        group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, rank_, size_, options);
#else
        fail("this libibot4j was built without NCCL (a CPU LibTorch, or no nccl.h beside it); use the gloo backend");
#endif
      } else {
        require(c.backend == IBOT4J_BACKEND_GLOO, "backend must be IBOT4J_BACKEND_GLOO or IBOT4J_BACKEND_NCCL, got ",
                c.backend);
        auto options = c10d::ProcessGroupGloo::Options::create(timeout_);
        options->devices = gloo_devices(host, c.master_port, c.world_size);
        group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank_, size_, options);
      }
    } catch (const InvalidArgument&) {
      throw;
    } catch (...) {
      throw DistFailure("rank " + std::to_string(rank_) + " could not form the " +
                        (c.backend == IBOT4J_BACKEND_NCCL ? std::string("NCCL") : std::string("Gloo")) + " group via " +
                        where_ + ": " + current_exception_text());
    }
    heartbeat_ = std::make_unique<Heartbeat>(store_, rank_);
    device_ = c.backend == IBOT4J_BACKEND_NCCL ? torch::Device(torch::kCUDA, c.local_rank) : torch::Device(torch::kCPU);
    verify();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce(torch::Tensor& t, Op op, const char* what) override {
    std::vector<torch::Tensor> tensors{t};
    c10d::AllreduceOptions options;
    options.reduceOp = op == Op::Sum ? c10d::ReduceOp::SUM : op == Op::Min ? c10d::ReduceOp::MIN : c10d::ReduceOp::MAX;
    run(what, [&] { group_->allreduce(tensors, options)->wait(); });
  }

  void broadcast(std::vector<torch::Tensor>& tensors, int root, const char* what) override {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (auto& t : tensors) {
      std::vector<torch::Tensor> one{t};
      run(what, [&] { group_->broadcast(one, options)->wait(); });
    }
  }

  torch::Device device() const override { return device_; }

 private:
  // The backend must report this rank and size, and an all-reduce of a known tensor must add up:
  // a group that fails this was built wrong and must not be trusted with training.
  void verify() {
    require(group_->getRank() == rank_ && group_->getSize() == size_, "the process group reports rank ",
            group_->getRank(), " of ", group_->getSize(), ", expected ", rank_, " of ", size_);
    auto probe = torch::arange(1, 8, torch::TensorOptions().dtype(torch::kFloat32).device(device_)) * (rank_ + 1);
    all_reduce(probe, Op::Sum, "the start-up check");
    const double factor = size_ * (size_ + 1) / 2.0;
    auto expected = torch::arange(1, 8, torch::TensorOptions().dtype(torch::kFloat32).device(device_)) * factor;
    if (!torch::equal(probe, expected)) {
      throw DistFailure(
          "the process group's start-up all-reduce gave wrong values: the c10d backend does not work in "
          "this build; do not train with it");
    }
  }

  template <typename Fn>
  void run(const char* what, Fn&& fn) {
    try {
      fn();
    } catch (...) {
      const auto why = current_exception_text();
      throw DistFailure("rank " + std::to_string(rank_) + ": " + what + " failed; " + lost_ranks() + ". " + why);
    }
  }

  // Ranks whose heartbeat did not move in 1.5 s; rank 0 when its store is unreachable.
  std::string lost_ranks() {
    auto sample = [&] {
      std::vector<std::string> seen(static_cast<size_t>(size_));
      for (int r = 0; r < size_; ++r) {
        if (r == rank_ || !store_->check({heartbeat_key(r)})) continue;
        auto bytes = store_->get(heartbeat_key(r));
        seen[static_cast<size_t>(r)] = std::string(bytes.begin(), bytes.end());
      }
      return seen;
    };
    try {
      auto before = sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      auto after = sample();
      std::string lost;
      for (int r = 0; r < size_; ++r) {
        if (r != rank_ && before[static_cast<size_t>(r)] == after[static_cast<size_t>(r)]) {
          lost += (lost.empty() ? "" : ", ") + std::to_string(r);
        }
      }
      return lost.empty() ? "no rank stopped answering (a timeout or a mismatch between ranks)"
                          : "lost rank " + lost + " (stopped answering)";
    } catch (...) {
      return "lost rank 0 (its rendezvous store at " + where_ + " is gone)";
    }
  }

  int rank_, size_;
  std::chrono::milliseconds timeout_{0};
  std::string where_;
  torch::Device device_ = torch::kCPU;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Backend> group_;
  std::unique_ptr<Heartbeat> heartbeat_;
};

std::shared_ptr<Communicator> create_group(const ibot4j_dist_config& config) {
  return std::make_shared<GroupImpl>(config);
}

}  // namespace ibot4j
