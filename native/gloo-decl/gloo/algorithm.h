// ibot4j gloo-decl: stand-in for <gloo/algorithm.h>.
//
// Why this exists: torch/csrc/distributed/c10d/ProcessGroupGloo.hpp includes
// five gloo headers that the pip LibTorch does not ship. The gloo actually
// compiled into libtorch_cpu.so is PyTorch's vendored copy (third_party/gloo);
// Debian's libgloo-dev is a different version with a different layout, so we
// must never build against it. Instead these headers declare only the gloo
// NAMES that ProcessGroupGloo.hpp mentions, with NO data members, so that any
// code depending on gloo's real object layout fails to compile or link rather
// than silently reading wrong memory.
//
// ProcessGroupGloo.hpp uses nothing from algorithm.h; it only has to exist.
#pragma once
