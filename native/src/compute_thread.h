// Runs native compute on a thread whose stack ibot4j chose, not on the caller's.
//
// Why: LibTorch's parallel code keeps per-thread scratch on the calling thread's stack (fbgemm's
// radix sort puts two histograms of 256 int64 per OpenMP thread there: 4 KiB a thread, about 1 MiB at
// 255 threads), so with many intra-op threads a call from a JVM thread (1 MiB stack by default, often
// less in thread pools) overflows it and the process dies with SIGSEGV. A JVM cannot be asked for a
// larger stack on a thread it did not create, so every compute call is handed to a companion thread.
//
// Each calling thread gets its own companion, created on its first call and joined when the caller
// exits: calls from one caller run in order on one thread (LibTorch's thread-local state such as
// grad mode, autocast, the current CUDA device and OpenMP's team stay with it), calls from different
// callers run concurrently, as they would have on the callers themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace ibot4j {

// The companion's stack: enough for 4 KiB of scratch per thread for more than 10,000 intra-op threads
// plus LibTorch's own frames; only the pages touched are ever committed.
constexpr std::size_t kComputeStackBytes = std::size_t{64} << 20;

// Runs job on the calling thread's companion and returns its result; job must not throw.
int32_t run_on_compute_thread(const std::function<int32_t()>& job);

// The stack size of the calling thread (0 when unknown); for tests and ibot4j_build_info.
std::size_t current_stack_bytes();

}  // namespace ibot4j
