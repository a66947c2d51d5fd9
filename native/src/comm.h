// The collectives a data-parallel model needs, as an interface: c10d's headers stay in dist.cpp.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ibot4j {

class Communicator {
 public:
  enum class Op { Sum, Min, Max };
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Where the collectives' tensors must live: CPU for Gloo, this rank's GPU for NCCL.
  virtual torch::Device device() const = 0;
  // In place over every rank; `what` names the step in an error message.
  virtual void all_reduce(torch::Tensor& t, Op op, const char* what) = 0;
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root, const char* what) = 0;
};

}  // namespace ibot4j
