#include "trace.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <memory>

#include "common.h"

namespace ibot4j {

namespace {
// RecordProfile profiles from construction and writes its file when destroyed.
std::unique_ptr<torch::autograd::profiler::RecordProfile> active;
}  // namespace

void trace_begin(const std::string& path) {
  require(active == nullptr, "a trace is already running; call ibot4j_trace_end first");
  active = std::make_unique<torch::autograd::profiler::RecordProfile>(path);
}

void trace_end() { active.reset(); }

}  // namespace ibot4j
