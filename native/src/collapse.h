// Collapse metrics of a training step (docs/collapse.md), from tensors the step computed anyway.
#pragma once

#include <torch/torch.h>

namespace ibot4j {

// float64 [4] on the targets' device, no grad, no device wait:
//  0: mean entropy (nats) of the rows of cls_targets [R, K] (ln K when every row is uniform);
//  1: the same over patch_targets [M, K'], every s-th row with s = ceil(M / R) (at most R rows; NaN when M = 0);
//  2: prototypes in use: how many of the K columns are the argmax of at least one row of cls_targets;
//  3: effective rank of embeddings [R, D] (RankMe, Garrido et al. 2023): exp(-sum p_i ln p_i) over
//     p = s / sum(s), s the singular values of the uncentred matrix; 1 when every row lies on one line;
//     NaN when embeddings holds a non-finite value.
torch::Tensor collapse_metrics(const torch::Tensor& cls_targets, const torch::Tensor& patch_targets,
                               const torch::Tensor& embeddings);

}  // namespace ibot4j
