// ibot4j gloo-decl: stand-in for <gloo/context.h>.
//
// Why this exists: see gloo/algorithm.h. DECLARES NO DATA MEMBERS.
//
// ProcessGroupGloo.hpp holds std::shared_ptr<gloo::Context> (layout does not
// depend on Context) and calls context->setTimeout(...) inline in
// ProcessGroupGloo::setTimeout. gloo::Context::setTimeout(milliseconds) is
// exported by libtorch_cpu.so, so that call links to the real one.
//
// Construction and destruction are deleted on purpose: libtorch_cpu.so also
// exports gloo::Context::Context(int,int,int) and ~Context(), so a declared
// constructor would LINK and then allocate an object of the wrong size.
// Contexts are only ever created and destroyed inside libtorch_cpu.so (the
// shared_ptr control block carries the real deleter).
#pragma once

#include <chrono>

namespace gloo {

class Context {
 public:
  Context() = delete;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() = delete;

  void setTimeout(std::chrono::milliseconds timeout);
};

}  // namespace gloo
