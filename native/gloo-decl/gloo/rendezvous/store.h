// ibot4j gloo-decl: stand-in for <gloo/rendezvous/store.h>.
//
// Why this exists: see gloo/algorithm.h. DECLARES NO DATA MEMBERS.
//
// c10d::ProcessGroupGloo::GlooStore derives from gloo::rendezvous::Store and
// overrides exactly these four virtuals (plus the virtual destructor). We do
// NOT define GLOO_STORE_HAS_STORE_V2, so GlooStore's v2 overrides
// (has_v2_support, multi_get, multi_set, append, add) are compiled out of
// the header; the real gloo vtable has them. Therefore a GlooStore must never
// be constructed in our code (its vtable would be shorter than the real one):
// the constructor below is declared but never defined, and libtorch_cpu.so
// does not export one, so constructing a GlooStore fails at LINK time.
// ProcessGroupGloo builds its own GlooStore inside libtorch_cpu.so.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace gloo {
namespace rendezvous {

class Store {
 public:
  virtual ~Store() = default;

  virtual void set(const std::string& key, const std::vector<char>& data) = 0;

  virtual std::vector<char> get(const std::string& key) = 0;

  virtual void wait(const std::vector<std::string>& keys) = 0;

  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;

 protected:
  Store();  // declared, deliberately never defined (see above)
};

}  // namespace rendezvous
}  // namespace gloo
