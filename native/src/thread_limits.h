// Intra-op thread counts that the process can actually start.
//
// Why: LibTorch's OpenMP pool starts its threads lazily, inside the first parallel region, and libgomp
// ends the whole process ("libgomp: Thread creation failed") when the OS refuses one (a pids cgroup
// limit, ulimit -u, memory for stacks). Starting the same number of threads first, ourselves, turns
// that into an error the caller sees, naming the limit.
#pragma once

#include <string>

namespace ibot4j {

// Sets LibTorch's intra-op threads to n (> 0) after checking that n threads can be started at once;
// throws std::runtime_error naming the process's thread limits when they cannot. n <= 0 changes nothing.
void set_intra_op_threads(int n);

// One sentence on the limits that bound how many threads this process may start (cgroup pids.max and
// its current count, ulimit -u, the kernel's threads-max), for error messages.
std::string thread_limits();

}  // namespace ibot4j
