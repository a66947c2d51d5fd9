/*
 * ibot4j native API: a small C surface over a LibTorch implementation of iBOT.
 *
 * Conventions (every function):
 *  - returns an ibot4j_status; IBOT4J_OK is 0;
 *  - on failure writes a NUL-terminated UTF-8 message into the caller's `err` buffer of
 *    `err_len` bytes (truncated if needed) in the same call; `err` may be NULL when err_len is 0;
 *  - never lets a C++ exception escape;
 *  - tensors are caller memory, read or written in place (never retained after the call returns);
 *  - float tensors are contiguous float32, row-major; masks are contiguous uint8 (0 = visible).
 * A model handle may be used by one thread at a time; an encoder handle by many at once (see there).
 */
#ifndef IBOT4J_H
#define IBOT4J_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (int32). */
#define IBOT4J_OK 0
#define IBOT4J_ERR_INVALID_ARGUMENT 1 /* the call is wrong on its face: a bad config, shape, name or file */
#define IBOT4J_ERR_OUT_OF_MEMORY 2    /* host or device allocation failed */
#define IBOT4J_ERR_INTERNAL 3         /* a failure inside LibTorch or ibot4j that the arguments do not explain */
#define IBOT4J_ERR_IO 4               /* a file could not be opened, read or written */
#define IBOT4J_ERR_DEVICE 5           /* the accelerator (CUDA) reported an error */
#define IBOT4J_ERR_DISTRIBUTED 6      /* the process group failed: a rank was lost, timed out or disagreed */

/* Which network of a model (int32). */
#define IBOT4J_STUDENT 0
#define IBOT4J_TEACHER 1

/* How the teacher's outputs become targets (int32, config field centering). */
#define IBOT4J_CENTERING_CENTER 0          /* official iBOT: softmax((t - EMA centre) / temp) */
#define IBOT4J_CENTERING_SINKHORN_KNOPP 1  /* DINOv2: 3 Sinkhorn-Knopp iterations of exp(t / temp); centres unused */

/* Backbone families (int32, config field family); tensor names are timm's for each (docs/interop.md). */
#define IBOT4J_FAMILY_IBOT 0    /* official iBOT ViT: learned positions interpolated the official way, LayerNorm eps 1e-6 */
#define IBOT4J_FAMILY_DINOV2 1  /* timm's DINOv2 ViT: learned positions resized as timm (bicubic, antialiased), LayerScale */
#define IBOT4J_FAMILY_DINOV3 2  /* timm's DINOv3 (Eva): RoPE on the patches, LayerNorm eps 1e-5, q/v biases (key bias 0) */

/* Devices (int32). */
#define IBOT4J_DEVICE_CPU 0
#define IBOT4J_DEVICE_CUDA 1

typedef struct ibot4j_model ibot4j_model;
typedef struct ibot4j_group ibot4j_group;
typedef struct ibot4j_encoder ibot4j_encoder;

/* Collective backends (int32). */
#define IBOT4J_BACKEND_GLOO 0
#define IBOT4J_BACKEND_NCCL 1

/* Reductions (int32). */
#define IBOT4J_REDUCE_SUM 0
#define IBOT4J_REDUCE_MIN 1
#define IBOT4J_REDUCE_MAX 2

typedef struct ibot4j_build_info {
    int32_t abi_version;          /* IBOT4J_ABI_VERSION the library was built with */
    int32_t torch_major;          /* LibTorch version compiled against */
    int32_t torch_minor;
    int32_t torch_patch;
    int32_t cuda_available;       /* whether the loaded LibTorch sees a CUDA device */
    int32_t num_threads;          /* current intra-op threads */
    int32_t cpu_native_bf16;      /* whether this CPU has bf16 instructions (avx512_bf16 or AMX-BF16) */
} ibot4j_build_info;

#define IBOT4J_ABI_VERSION 9

/*
 * The model configuration, one row per field: X(type, name, role). This list is the single
 * definition on the native side: the struct below, the checkpoint's architecture fingerprint and
 * the field names the Java record IbotConfig must mirror (a Java test compares them) all come from
 * it. Roles: ARCH fixes tensor shapes (a checkpoint loads only into the same ARCH values); TRAIN is
 * a loss or optimiser constant; WEIGHT is a loss term's weight (finite and >= 0, 0 = the term is off;
 * every WEIGHT row is checked by that rule, none needs one of its own); RUNTIME belongs to this
 * process. Booleans are int32 0/1. ARCH fields added after ABI 6 (family .. swiglu) enter the
 * fingerprint only when not 0, so that older checkpoints keep theirs.
 */
#define IBOT4J_CONFIG_FIELDS(X) \
    X(int32_t, img_size, ARCH)            /* size pos_embed is built for, e.g. 224 or 32 */ \
    X(int32_t, patch_size, ARCH) \
    X(int32_t, in_chans, ARCH) \
    X(int32_t, embed_dim, ARCH) \
    X(int32_t, depth, ARCH) \
    X(int32_t, num_heads, ARCH) \
    X(double, mlp_ratio, ARCH) \
    X(int32_t, qkv_bias, ARCH)            /* bool */ \
    X(int32_t, family, ARCH)              /* IBOT4J_FAMILY_*; official: IBOT */ \
    X(int32_t, num_register_tokens, ARCH) /* registers (DINOv2) / storage tokens (DINOv3): in attention, not in outputs */ \
    X(double, layer_scale_init, ARCH)     /* LayerScale's initial gamma; 0 = no LayerScale (official) */ \
    X(int32_t, swiglu, ARCH)              /* bool: SwiGLU MLP (hidden widths: docs/interop.md) */ \
    X(double, drop_path_rate, TRAIN)      /* student only; the teacher uses 0 */ \
    X(int32_t, out_dim, ARCH)             /* K of the CLS projection */ \
    X(int32_t, patch_out_dim, ARCH)       /* K' of the patch projection (out_dim when a head is shared) */ \
    X(int32_t, hidden_dim, ARCH)          /* head MLP width (2048 in the paper) */ \
    X(int32_t, bottleneck_dim, ARCH)      /* 256 in the paper */ \
    X(int32_t, shared_head, ARCH)         /* bool: student patch tokens use the CLS last layer */ \
    X(int32_t, shared_head_teacher, ARCH) /* bool: same for the teacher (official default: true) */ \
    X(int32_t, norm_last_layer, ARCH)     /* bool: freeze weight-norm g at 1 */ \
    X(double, student_temp, TRAIN) \
    X(double, center_momentum, TRAIN) \
    X(double, center_momentum2, TRAIN) \
    X(double, lambda1, WEIGHT)            /* the [CLS] (DINO) loss */ \
    X(double, lambda2, WEIGHT)            /* the masked-patch (MIM) loss */ \
    X(double, beta1, TRAIN)               /* AdamW */ \
    X(double, beta2, TRAIN) \
    X(double, eps, TRAIN) \
    X(int32_t, centering, TRAIN)          /* IBOT4J_CENTERING_*: teacher targets (official: CENTER) */ \
    X(double, koleo_loss_weight, WEIGHT)  /* DINOv2 KoLeo on the student's global [CLS] tokens; 0 = off (official) */ \
    X(double, layer_decay, TRAIN)         /* layer-wise lr decay (BEiT / DINOv2): block i's lr x D^(depth-i), 1 = off */ \
    X(double, backbone_lr_multiplier, TRAIN) /* the backbone's lr x this (heads x 1); 1 = off */ \
    X(double, gram_loss_weight, WEIGHT)   /* DINOv3 Gram anchoring of the student's patch tokens; 0 = off */ \
    X(double, distill_loss_weight, WEIGHT) /* feature distillation from a frozen teacher backbone (distill_*); 0 = off */ \
    X(int32_t, distill_family, TRAIN)     /* the distillation teacher's backbone, as the fields above: IBOT4J_FAMILY_* */ \
    X(int32_t, distill_img_size, TRAIN) \
    X(int32_t, distill_patch_size, TRAIN) \
    X(int32_t, distill_embed_dim, TRAIN) \
    X(int32_t, distill_depth, TRAIN) \
    X(int32_t, distill_num_heads, TRAIN) \
    X(double, distill_mlp_ratio, TRAIN) \
    X(int32_t, distill_qkv_bias, TRAIN)   /* bool */ \
    X(int32_t, distill_num_register_tokens, TRAIN) \
    X(double, distill_layer_scale_init, TRAIN) \
    X(int32_t, distill_swiglu, TRAIN)     /* bool */ \
    X(int64_t, seed, RUNTIME) \
    X(int32_t, num_threads, RUNTIME)      /* LibTorch intra-op threads (process-wide); 0 keeps the current */ \
    X(int32_t, device, RUNTIME)           /* IBOT4J_DEVICE_* */ \
    X(int32_t, bf16_autocast, RUNTIME)    /* bool: bf16 autocast for forward passes (CUDA, or a CPU with native bf16) */ \
    X(int32_t, force_bf16, RUNTIME)       /* bool: allow bf16_autocast on a CPU without native bf16 (emulated: slower) */

#define IBOT4J_CONFIG_MEMBER(type, name, role) type name;
typedef struct ibot4j_config {
    IBOT4J_CONFIG_FIELDS(IBOT4J_CONFIG_MEMBER)
} ibot4j_config;
#undef IBOT4J_CONFIG_MEMBER

/* One process of a data-parallel group, as torchrun describes it (RANK, WORLD_SIZE, LOCAL_RANK,
 * MASTER_ADDR, MASTER_PORT). Rank 0 hosts the rendezvous store at master_addr:master_port. */
typedef struct ibot4j_dist_config {
    int32_t rank;
    int32_t world_size;
    int32_t local_rank;
    const char* master_addr;      /* UTF-8 host name or address */
    int32_t master_port;
    int32_t backend;              /* IBOT4J_BACKEND_*: Gloo on CPU, NCCL on CUDA */
    double timeout_s;             /* a collective or the rendezvous waiting longer fails */
} ibot4j_dist_config;

typedef struct ibot4j_batch {
    const float* global_crops;    /* [batch_size * n_global, in_chans, global_size, global_size] */
    const float* local_crops;     /* [batch_size * n_local, in_chans, local_size, local_size]; NULL if n_local 0 */
    const uint8_t* masks;         /* [batch_size * n_global, global_size/p, global_size/p] */
    int64_t batch_size;           /* images per step (B) */
    int32_t n_global;             /* G >= 2 */
    int32_t n_local;              /* L >= 0 */
    int32_t global_size;          /* pixels, square crops */
    int32_t local_size;
} ibot4j_batch;

typedef struct ibot4j_step_params {
    double lr;
    double weight_decay;          /* applied to parameters with >= 2 dims that are not biases */
    double teacher_momentum;      /* EMA momentum m: teacher <- m*teacher + (1-m)*student */
    double teacher_temp;
    double teacher_patch_temp;
    int32_t freeze_last_layer;    /* bool: no update of the last layer(s) this step */
    double clip_grad;             /* per-parameter norm clip; 0 disables */
    int32_t freeze_backbone;      /* bool: the heads alone learn this step (student and teacher backbones unchanged) */
    int32_t gram_refresh;         /* bool: the Gram teacher becomes a copy of the EMA teacher's backbone first */
} ibot4j_step_params;

typedef struct ibot4j_step_result {
    double loss;                  /* cls_loss + patch_loss + koleo_loss + gram_loss + distill_loss */
    double cls_loss;
    double patch_loss;
    double grad_norm;             /* L2 norm of all gradients before clipping */
    int32_t finite;               /* bool: 0 means nothing was updated */
    int64_t step;                 /* optimiser steps taken by this model so far */
    double koleo_loss;            /* koleo_loss_weight x KoLeo (0 when off) */
    /* Collapse metrics of train_step (0 from other calls), from tensors the step computed anyway; in a
     * group, of this rank's share of the batch: */
    double teacher_cls_entropy;   /* mean entropy (nats) of the teacher's [CLS] targets; ln(out_dim) = uniform */
    double teacher_patch_entropy; /* the same over the masked tokens' patch targets, every s-th of the M masked tokens
                                   * with s = ceil(M / (G*B)); NaN when nothing was masked */
    int32_t prototypes_used;      /* distinct argmax of the teacher's [CLS] targets over the G*B global crops */
    double effective_rank;        /* exp(entropy of the normalised singular values) of the teacher's backbone
                                   * [CLS] tokens [G*B, embed_dim] (RankMe); 1 = all crops on one line */
    double gram_loss;             /* gram_loss_weight x Gram anchoring loss (0 when off); part of loss */
    double distill_loss;          /* distill_loss_weight x feature distillation loss (0 when off); part of loss */
} ibot4j_step_result;

int32_t ibot4j_build_info_get(ibot4j_build_info* out, char* err, size_t err_len);

/* The loaded LibTorch's own description (at::show_config), truncated to buf_len. */
int32_t ibot4j_torch_config(char* buf, size_t buf_len, char* err, size_t err_len);

/* Checks every rule of a configuration, creating nothing: IBOT4J_ERR_INVALID_ARGUMENT with
 * "invalid ibot4j config:" and one "\n  - problem" line per broken rule. The same rules run when a model
 * or encoder is created, which also checks that this machine can run the config (bf16, CUDA). */
int32_t ibot4j_config_check(const ibot4j_config* config, char* err, size_t err_len);

int32_t ibot4j_model_create(const ibot4j_config* config, ibot4j_model** out, char* err, size_t err_len);

/* Frees the model; NULL is allowed. */
int32_t ibot4j_model_free(ibot4j_model* model, char* err, size_t err_len);

/* One iBOT optimisation step: forward, loss, backward, clip, AdamW, EMA. A non-finite loss or
 * gradient norm updates nothing (finite = 0 in the result, status OK). */
int32_t ibot4j_train_step(ibot4j_model* model, const ibot4j_batch* batch, const ibot4j_step_params* params,
                          ibot4j_step_result* out, char* err, size_t err_len);

/* For boundary benchmarks: ibot4j_train_step's argument path (checks, caller memory wrapped as
 * tensors) without the step; nothing is computed or updated, out is zeroed. */
int32_t ibot4j_train_step_dry_run(ibot4j_model* model, const ibot4j_batch* batch, const ibot4j_step_params* params,
                                  ibot4j_step_result* out, char* err, size_t err_len);

/* For boundary benchmarks: does nothing, returns IBOT4J_OK. */
int32_t ibot4j_noop(char* err, size_t err_len);

/* For performance work: LibTorch's op-level profiler records every call between trace_begin and
 * trace_end on this thread; trace_end writes it to `path` as a Chrome trace. */
int32_t ibot4j_trace_begin(const char* path, char* err, size_t err_len);
int32_t ibot4j_trace_end(char* err, size_t err_len);

/* Backbone features (after the final norm) of `which` network for images [n, in_chans, height, width].
 * masks (student only, may be NULL): [n, height/p, width/p]. out_cls [n, embed_dim] and
 * out_patch [n, (height/p)*(width/p), embed_dim] may each be NULL. */
int32_t ibot4j_embed(ibot4j_model* model, int32_t which, const float* images, int64_t n, int32_t height,
                     int32_t width, const uint8_t* masks, float* out_cls, float* out_patch, char* err,
                     size_t err_len);

/* Head of `which` network on backbone tokens [n, tokens, embed_dim] (CLS first):
 * out_cls [n, out_dim]; out_patch [n, tokens-1, patch dim] (may be NULL). */
int32_t ibot4j_head(ibot4j_model* model, int32_t which, const float* tokens, int64_t n, int64_t num_tokens,
                    float* out_cls, float* out_patch, char* err, size_t err_len);

/* The iBOT loss for given head outputs, as train_step computes it. Inputs:
 * student_cls [(G+L)*B, K], student_patch [G*B, N, K'], teacher_cls [G*B, K], teacher_patch [G*B, N, K'],
 * masks [G*B, N]. Writes loss, cls_loss and patch_loss into out (other fields 0). When update_center
 * is non-zero the model's centres are updated as after a training step. */
int32_t ibot4j_loss(ibot4j_model* model, const float* student_cls, const float* student_patch,
                    const float* teacher_cls, const float* teacher_patch, const uint8_t* masks, int64_t batch_size,
                    int32_t n_global, int32_t n_local, int64_t num_patches, double teacher_temp,
                    double teacher_patch_temp, int32_t update_center, ibot4j_step_result* out, char* err,
                    size_t err_len);

/* DINOv3's Gram anchoring loss (dinov3/loss/gram_loss.py with normalized, img_level, no negative removal):
 * per image, the Gram matrices of the L2-normalised patch features of the student [n, tokens, dim] and of the
 * Gram teacher (the same shape), their mean squared difference over n x tokens x tokens. Writes the loss and,
 * when out_grad is not NULL, its gradient with respect to student [n, tokens, dim]. No model needed. */
int32_t ibot4j_gram_loss(const float* student, const float* teacher, int64_t n, int64_t tokens, int64_t dim,
                         double* out_loss, float* out_grad, char* err, size_t err_len);

/* Joins the process group described by config (c10d: TCPStore rendezvous and ProcessGroupGloo or
 * ProcessGroupNCCL), then checks it: the backend's rank and size, and an all-reduce of a known
 * tensor. A rank that does not answer within timeout_s fails the call. */
int32_t ibot4j_group_create(const ibot4j_dist_config* config, ibot4j_group** out, char* err, size_t err_len);

/* Leaves the group and frees it; NULL is allowed. */
int32_t ibot4j_group_free(ibot4j_group* group, char* err, size_t err_len);

/* values (n doubles) reduced over every rank with op (IBOT4J_REDUCE_*), in place; every rank must call it. */
int32_t ibot4j_group_all_reduce(ibot4j_group* group, double* values, int64_t n, int32_t op, char* err,
                                size_t err_len);

/* The model trains data-parallel in the group from now on: rank 0's weights and centres are broadcast,
 * each step averages the gradients (one flat buffer, one all-reduce, before clipping), the centre
 * updates and the reported losses over the ranks, and drop-path draws from (seed, rank, step). Every
 * rank must call it, with models of the same configuration. The group must outlive the model. */
int32_t ibot4j_model_join(ibot4j_model* model, ibot4j_group* group, char* err, size_t err_len);

/* Named state: "student.<param>", "teacher.<param>", "loss.center", "loss.center2".
 * Names are written '\n'-separated into buf; *needed receives the size required including the NUL.
 * The shape/read/write calls also accept "grad.student.<param>": the gradient the last step's
 * optimiser used (after clipping; absent for parameters whose update was cancelled). */
int32_t ibot4j_tensor_names(ibot4j_model* model, char* buf, size_t buf_len, size_t* needed, char* err,
                            size_t err_len);

/* Shape of a named tensor: up to max_dims sizes into dims, the rank into *ndim. */
int32_t ibot4j_tensor_shape(ibot4j_model* model, const char* name, int64_t* dims, int32_t max_dims,
                            int32_t* ndim, char* err, size_t err_len);

/* Copies a named tensor (numel floats) out of, or into, the model. */
int32_t ibot4j_tensor_read(ibot4j_model* model, const char* name, float* out, int64_t numel, char* err,
                           size_t err_len);
int32_t ibot4j_tensor_write(ibot4j_model* model, const char* name, const float* data, int64_t numel,
                            char* err, size_t err_len);

/* Full training state (both networks, centres, optimiser, step count, RNG) plus a caller's UTF-8
 * metadata string, to one file. The caller makes the write atomic (temporary name, then rename). */
int32_t ibot4j_checkpoint_save(ibot4j_model* model, const char* path, const char* metadata, char* err,
                               size_t err_len);

/* Restores a checkpoint saved by a model of the same configuration. */
int32_t ibot4j_checkpoint_load(ibot4j_model* model, const char* path, char* err, size_t err_len);

/* Reads only the metadata string of a checkpoint. */
int32_t ibot4j_checkpoint_metadata(const char* path, char* buf, size_t buf_len, size_t* needed, char* err,
                                   size_t err_len);

/* ---- analysis: attention ---- */

/* The last block's self-attention probabilities of the [CLS] query, as official get_last_selfattention
 * (softmax(q k^T / sqrt(head_dim)), written out rather than fused) then attentions[:, :, 0, :]:
 * out [n, num_heads, 1 + N] for images [n, in_chans, height, width] through `which` backbone,
 * N = (height/p) * (width/p); index 0 is the [CLS] token itself, then the patches row by row.
 * Each [n, head] row sums to 1, less the share of the registers (DINOv2) or storage tokens (DINOv3), which
 * are left out. No masks, no grad; positions interpolated (or RoPE computed) for other image sizes. */
int32_t ibot4j_last_attention(ibot4j_model* model, int32_t which, const float* images, int64_t n, int32_t height,
                              int32_t width, float* out, char* err, size_t err_len);

/* ---- analysis: intermediate features ---------------------------------------------------------- */

/* Frozen features for linear probes, as the official get_intermediate_layers: `which` network (eval mode,
 * no grad, no mask, positional embeddings interpolated for other sizes) on images [n, in_chans, height,
 * width]. out_cls [n, n_last_blocks * embed_dim] receives the CLS tokens of the last n_last_blocks
 * blocks (1..depth), each through the final norm, concatenated from the earliest block to the last.
 * out_patch_mean [n, embed_dim] receives the mean of the last block's patch tokens: through the final
 * norm when patch_mean_normed is non-zero (official avgpool_patchtokens 2), the block's raw output
 * otherwise (avgpool 1, where the official model's norm is an identity). Either output may be NULL. */
int32_t ibot4j_intermediate_features(ibot4j_model* model, int32_t which, const float* images, int64_t n,
                                     int32_t height, int32_t width, int32_t n_last_blocks,
                                     int32_t patch_mean_normed, float* out_cls, float* out_patch_mean,
                                     char* err, size_t err_len);

/* ---- inference: one backbone (encoder) ---------------------------------------------------------- */

/* A backbone alone for inference (no heads, no second network, no optimiser state, no mask token), of
 * config's architecture (the head fields are not used), on config's device, with bf16 autocast when
 * bf16_autocast is set; num_threads > 0 sets LibTorch's intra-op threads (process-wide). Its weights
 * must be set with ibot4j_encoder_load or ibot4j_encoder_write before the first forward.
 * Thread safety: once the weights are set, ibot4j_encoder_forward and ibot4j_encoder_export_torchscript
 * may run on any number of threads at once on one encoder (they only read it); load, write and free
 * must not overlap any other call on the same encoder. */
int32_t ibot4j_encoder_create(const ibot4j_config* config, ibot4j_encoder** out, char* err, size_t err_len);

/* Frees the encoder; NULL is allowed. */
int32_t ibot4j_encoder_free(ibot4j_encoder* encoder, char* err, size_t err_len);

/* Sets the weights to `which` network's backbone of an ibot4j checkpoint saved by a model whose
 * architecture is the encoder's config; nothing else of the checkpoint is kept. All or nothing. */
int32_t ibot4j_encoder_load(ibot4j_encoder* encoder, const char* path, int32_t which, char* err, size_t err_len);

/* Backbone tensor names ('\n'-separated, timm's: cls_token, pos_embed, patch_embed.proj.weight, blocks.0.norm1.weight,
 * ..., norm.bias) into buf; *needed receives the size required including the NUL. */
int32_t ibot4j_encoder_tensor_names(ibot4j_encoder* encoder, char* buf, size_t buf_len, size_t* needed, char* err,
                                    size_t err_len);

/* Copies one named tensor of shape dims[0..ndim) (float32, contiguous) into the encoder; the shape must be the
 * encoder's. */
int32_t ibot4j_encoder_write(ibot4j_encoder* encoder, const char* name, const float* data, const int64_t* dims,
                             int32_t ndim, char* err, size_t err_len);

/* Backbone features (after the final norm, no grad, positions interpolated for other sizes) of images
 * [n, in_chans, height, width]: out_cls [n, embed_dim] and out_patch [n, (height/p)*(width/p), embed_dim],
 * either may be NULL. Safe to call from many threads at once. */
int32_t ibot4j_encoder_forward(ibot4j_encoder* encoder, const float* images, int64_t n, int32_t height,
                               int32_t width, float* out_cls, float* out_patch, char* err, size_t err_len);

/* Writes the encoder as a TorchScript module (torch.jit.load / torch::jit::load) whose forward(x) takes
 * normalised float32 images [N, in_chans, H, W] (H and W multiples of the patch size) and returns the CLS
 * features [N, embed_dim] that ibot4j_encoder_forward computes; positions are interpolated as in training
 * (official iBOT: its own formula; DINOv2: timm's; DINOv3: RoPE on the grid). The caller makes the write atomic. */
int32_t ibot4j_encoder_export_torchscript(ibot4j_encoder* encoder, const char* path, char* err, size_t err_len);

/* Loads a TorchScript module file with torch::jit::load, as any LibTorch program would, and runs its
 * forward on images [n, 3, height, width]; the result, a 2-D float tensor, is copied into out, which holds
 * out_len floats (its shape goes to out_rows, out_cols). For checking an exported module without Python. */
int32_t ibot4j_torchscript_forward(const char* path, const float* images, int64_t n, int32_t height, int32_t width,
                                   float* out, int64_t out_len, int64_t* out_rows, int64_t* out_cols, char* err,
                                   size_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* IBOT4J_H */
