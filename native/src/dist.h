// Creating a data-parallel group (dist.cpp, the only place that includes c10d's backends).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "api.h"
#include "comm.h"

namespace ibot4j {

// A collective failed or the group could not form; reported as IBOT4J_ERR_DISTRIBUTED.
class DistFailure : public std::runtime_error {
 public:
  explicit DistFailure(const std::string& message);
};

// Joins the group (blocks until every rank has, or the timeout) and checks it.
std::shared_ptr<Communicator> create_group(const ibot4j_dist_config& config);

}  // namespace ibot4j
