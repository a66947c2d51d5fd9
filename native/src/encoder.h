// One backbone for inference: no heads, no second network, no optimiser state, no mask token. Its
// weights are set once (from a checkpoint or tensor by tensor) and then only read, so any number of
// threads may run forward at once on one encoder.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "vit.h"

namespace ibot4j {

class Encoder {
 public:
  explicit Encoder(const Config& config);

  // Normalised tokens [n, 1+N, D] of images [n, C, H, W] (positions interpolated for other sizes), on the
  // encoder's device. Inference mode, bf16 autocast when configured; reads the weights and changes nothing.
  torch::Tensor forward(const torch::Tensor& images) const;
  // forward's CLS tokens alone, [n, D]: the last block computes the CLS token's output only.
  torch::Tensor forward_cls(const torch::Tensor& images) const;

  // `which` backbone of an ibot4j checkpoint saved by a model of this architecture; all or nothing.
  void load_checkpoint(const std::string& path, bool teacher);
  // One tensor by its backbone name (timm's: "cls_token", "blocks.0.attn.qkv.weight", ...), shape checked.
  void write(const std::string& name, const torch::Tensor& value);
  const std::vector<std::string>& tensor_names() const { return names_; }

  // A TorchScript module of this backbone (torchscript.cpp): forward(x [N, C, H, W]) -> CLS features [N, D].
  void export_torchscript(const std::string& path) const;

  const Config& config() const { return config_; }

 private:
  Config config_;
  torch::Device device_;
  // Copies weight `name` (or all) from backbone_ into compute_ when they differ.
  void refresh_compute(const std::string& name);
  void refresh_compute();

  // mutable: LibTorch modules have no const forward; forward only reads the weights.
  mutable VisionTransformer backbone_{nullptr};
  // What forward runs: backbone_ itself, or with bf16 autocast a copy whose matrix-product weights
  // (linear layers, the patch embedding's convolution) are stored in bf16. Autocast casts a weight
  // only into a thread-local cache that ends with the call (and not at all for weights that need no
  // gradient), so every call cast every weight again; stored once, the call skips those casts. The same
  // rounding, so the same features. backbone_ keeps fp32 for names, export and later writes.
  mutable VisionTransformer compute_{nullptr};
  std::map<std::string, torch::Tensor> named_;
  std::map<std::string, torch::Tensor> compute_named_;
  std::vector<std::string> names_;
};

// The tensors of a checkpoint whose names start with `prefix`, keyed by the rest of their name; the
// checkpoint must have been saved by a model whose architecture fingerprint is the config's (checkpoint.cpp).
std::map<std::string, torch::Tensor> read_checkpoint_tensors(const std::string& path, const Config& config,
                                                             const std::string& prefix);

// Writes `vit` as a TorchScript module that LibTorch's and PyTorch's jit::load read (torchscript.cpp).
void save_torchscript(const VisionTransformerImpl& vit, const Config& config, const std::string& path);

// Loads a TorchScript file with torch::jit::load and runs forward(images) (torchscript.cpp).
torch::Tensor run_torchscript(const std::string& path, const torch::Tensor& images);

}  // namespace ibot4j
