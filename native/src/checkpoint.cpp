// Checkpoint files: LibTorch archives holding both networks, the centres, the optimiser, the step
// count, the generator state, the architecture fingerprint and the caller's metadata string.
#include <c10/util/Exception.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "common.h"
#include "encoder.h"
#include "model.h"

namespace ibot4j {

namespace {
constexpr const char* kCheckpointFormat = "ibot4j-checkpoint-1";

// LibTorch's file writer throws from its destructor when a write fails (a full disk), which ends the
// process (std::terminate). So LibTorch only ever sees successful writes: the bytes go through this
// callback, which records the first failure, and the failure is reported after LibTorch is done.
void write_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw IoError("cannot write checkpoint '" + path + "': " + std::strerror(errno));
  int failure = 0;
  try {
    archive.save_to([&](const void* data, size_t n) -> size_t {
      if (failure == 0 && n > 0 && std::fwrite(data, 1, n, file) != n) failure = errno != 0 ? errno : EIO;
      return n;
    });
  } catch (...) {
    std::fclose(file);
    throw;
  }
  if (std::fflush(file) != 0 && failure == 0) failure = errno;
  if (std::fclose(file) != 0 && failure == 0) failure = errno;
  if (failure != 0) throw IoError("cannot write checkpoint '" + path + "': " + std::strerror(failure));
}
}  // namespace

void Model::save(const std::string& path, const std::string& metadata) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("fingerprint", c10::IValue(architecture_fingerprint(config_)));
  archive.write("metadata", c10::IValue(metadata));
  archive.write("step", c10::IValue(step_));
  archive.write("torch_version", c10::IValue(std::string(TORCH_VERSION)));
  archive.write("rng_state", gen_.get_state());
  c10::List<std::string> names;
  for (size_t i = 0; i < names_.size(); ++i) {
    names.push_back(names_[i]);
    // Archive keys cannot hold the dots of parameter names, so tensors go by index.
    archive.write("t" + std::to_string(i), named_.at(names_[i]).detach().to(torch::kCPU));
  }
  archive.write("tensor_names", c10::IValue(names));
  torch::serialize::OutputArchive optimizer_archive;
  optimizer_->save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  write_archive(archive, path);
}

namespace {
torch::serialize::InputArchive open_checkpoint(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw IoError("'" + path + "' is a folder, not a checkpoint file (ibot4j's Java API resolves a run folder to its " +
                  "newest checkpoint; pass a ckpt-*.ibot4j file here)");
  }
  std::ifstream probe(path, std::ios::binary);
  if (!probe.good()) throw IoError("cannot open checkpoint '" + path + "' for reading: " + std::strerror(errno));
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::kCPU);
  } catch (const c10::Error&) {
    // LibTorch's reader reports the zip layer's words; say what it means for the user instead.
    throw IoError("'" + path + "' is not an ibot4j checkpoint: it is not a LibTorch archive (a different kind of " +
                  "file, or a checkpoint that was truncated or damaged)");
  }
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kCheckpointFormat) {
    throw IoError("'" + path + "' is a LibTorch archive but not an ibot4j checkpoint (expected format " +
                  kCheckpointFormat + ")");
  }
  return archive;
}

// The names of the archive's tensors ("t<i>" is the i-th), once its architecture is known to be config's.
c10::List<c10::IValue> checked_tensor_names(torch::serialize::InputArchive& archive, const std::string& path,
                                            const Config& config) {
  c10::IValue fp;
  archive.read("fingerprint", fp);
  require(fp.toStringRef() == architecture_fingerprint(config), "checkpoint '", path,
          "' was saved by a different architecture:\n  saved: ", fp.toStringRef(),
          "\n  this:  ", architecture_fingerprint(config));
  c10::IValue names;
  archive.read("tensor_names", names);
  return names.toList();
}
}  // namespace

std::string Model::read_metadata(const std::string& path) {
  auto archive = open_checkpoint(path);
  c10::IValue metadata;
  if (!archive.try_read("metadata", metadata) || !metadata.isString()) {
    throw IoError("'" + path + "' is a damaged ibot4j checkpoint: its metadata record is missing");
  }
  return metadata.toStringRef();
}

void Model::load(const std::string& path) {
  try {
    load_checked(path);
  } catch (const c10::Error& e) {
    // The archive opened but a record is missing or unreadable: a damaged or foreign file.
    throw IoError("cannot read checkpoint '" + path + "': " + e.what_without_backtrace());
  }
}

void Model::load_checked(const std::string& path) {
  auto archive = open_checkpoint(path);
  auto names = checked_tensor_names(archive, path, config_);
  // Read and check everything before touching the model, so a bad file leaves it as it was.
  std::map<std::string, torch::Tensor> loaded;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string name = names.get(i).toStringRef();
    torch::Tensor t;
    archive.read("t" + std::to_string(i), t);
    auto it = named_.find(name);
    require(it != named_.end(), "checkpoint '", path, "' holds unknown tensor ", name);
    require(it->second.sizes() == t.sizes(), "checkpoint tensor ", name, " has shape ", t.sizes(), ", model has ",
            it->second.sizes());
    loaded[name] = t;
  }
  for (const auto& name : names_) require(loaded.count(name) > 0, "checkpoint '", path, "' lacks tensor ", name);
  c10::IValue step_value;
  archive.read("step", step_value);
  if (!step_value.isInt() || step_value.toInt() < 0) {
    throw IoError("checkpoint '" + path + "' is damaged: its step count is not a count (" + step_value.tagKind() + ")");
  }
  torch::Tensor rng_state;
  archive.read("rng_state", rng_state);
  // A generator state of the wrong kind or size (another device's generator, a damaged record) is found
  // on a scratch generator, before the model's own state changes.
  try {
    gen_.clone().set_state(rng_state);
  } catch (const c10::Error& e) {
    throw IoError("checkpoint '" + path + "' is damaged: its random generator state does not fit this model's " +
                  "generator (" + e.what_without_backtrace() + ")");
  }
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  auto optimizer = make_optimizer();
  try {
    optimizer->load(optimizer_archive);
  } catch (const c10::Error& e) {
    throw IoError("checkpoint '" + path + "' is damaged: its optimiser state does not fit the model (" +
                  e.what_without_backtrace() + ")");
  }

  // Nothing below can fail on a file that got this far: the model changes all at once.
  optimizer_ = std::move(optimizer);
  torch::NoGradGuard no_grad;
  for (auto& entry : loaded) named_.at(entry.first).copy_(entry.second);
  gen_.set_state(rng_state);
  step_ = step_value.toInt();
}

std::map<std::string, torch::Tensor> read_checkpoint_tensors(const std::string& path, const Config& config,
                                                             const std::string& prefix) {
  try {
    auto archive = open_checkpoint(path);
    auto names = checked_tensor_names(archive, path, config);
    std::map<std::string, torch::Tensor> out;
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string name = names.get(i).toStringRef();
      if (name.rfind(prefix, 0) != 0) continue;
      torch::Tensor t;
      archive.read("t" + std::to_string(i), t);
      out[name.substr(prefix.size())] = t;
    }
    return out;
  } catch (const c10::Error& e) {
    throw IoError("cannot read checkpoint '" + path + "': " + e.what_without_backtrace());
  }
}

}  // namespace ibot4j
