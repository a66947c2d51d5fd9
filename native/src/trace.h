// LibTorch's op-level profiler around a stretch of calls, for performance work (ibot4j_trace_*).
#pragma once

#include <string>

namespace ibot4j {

void trace_begin(const std::string& path);
// Writes the trace begun last; a no-op when none is running.
void trace_end();

}  // namespace ibot4j
