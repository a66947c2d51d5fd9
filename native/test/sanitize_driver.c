/*
 * Drives the C API without a JVM, for AddressSanitizer and LeakSanitizer (ci/sanitize): LSan cannot
 * run inside a JVM, so this program makes the calls the Java tests make (create, steps, embed, head,
 * loss, tensors, checkpoints, errors of every kind, free) and exits, and LSan reports what is left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ibot4j.h"

#define ERR_LEN 4096
static char err[ERR_LEN];

static int expect(int status, int want, const char* what) {
  if (status != want) {
    fprintf(stderr, "%s: status %d, expected %d: %s\n", what, status, want, err);
    exit(1);
  }
  return status;
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "/tmp";
  char path[1024];
  snprintf(path, sizeof path, "%s/sanitize.ibot4j", dir);

  ibot4j_config c;
  memset(&c, 0, sizeof c);
  c.img_size = 16;
  c.patch_size = 4;
  c.in_chans = 3;
  c.embed_dim = 16;
  c.depth = 2;
  c.num_heads = 2;
  c.mlp_ratio = 4.0;
  c.qkv_bias = 1;
  c.drop_path_rate = 0.1;
  c.out_dim = 32;
  c.patch_out_dim = 32;
  c.hidden_dim = 16;
  c.bottleneck_dim = 8;
  c.shared_head = 1;
  c.shared_head_teacher = 1;
  c.norm_last_layer = 0;
  c.student_temp = 0.1;
  c.center_momentum = 0.9;
  c.center_momentum2 = 0.9;
  c.lambda1 = 1.0;
  c.lambda2 = 1.0;
  c.beta1 = 0.9;
  c.beta2 = 0.999;
  c.eps = 1e-8;
  c.layer_decay = 1.0;
  c.backbone_lr_multiplier = 1.0;
  c.seed = 3;
  c.num_threads = 1;
  c.device = IBOT4J_DEVICE_CPU;

  ibot4j_model* model = NULL;
  expect(ibot4j_model_create(&c, &model, err, ERR_LEN), IBOT4J_OK, "create");

  const int b = 4, g = 2, l = 2, gs = 16, ls = 8, grid = gs / 4;
  float* global = calloc((size_t)b * g * 3 * gs * gs, sizeof(float));
  float* local = calloc((size_t)b * l * 3 * ls * ls, sizeof(float));
  unsigned char* masks = calloc((size_t)b * g * grid * grid, 1);
  for (size_t i = 0; i < (size_t)b * g * 3 * gs * gs; i++) global[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
  for (size_t i = 0; i < (size_t)b * l * 3 * ls * ls; i++) local[i] = (float)((i * 40503u) % 1000) / 1000.0f;
  for (int i = 0; i < b * g * grid * grid; i += 3) masks[i] = 1;
  ibot4j_batch batch = {global, local, masks, b, g, l, gs, ls};
  ibot4j_step_params params = {1e-3, 0.04, 0.99, 0.04, 0.04, 0, 3.0};
  ibot4j_step_result result;
  for (int step = 0; step < 20; step++)
    expect(ibot4j_train_step(model, &batch, &params, &result, err, ERR_LEN), IBOT4J_OK, "step");

  float* cls = calloc((size_t)b * 16, sizeof(float));
  float* patch = calloc((size_t)b * grid * grid * 16, sizeof(float));
  expect(ibot4j_embed(model, IBOT4J_TEACHER, global, b, gs, gs, NULL, cls, patch, err, ERR_LEN), IBOT4J_OK, "embed");
  float* attention = calloc((size_t)b * 2 * (1 + grid * grid), sizeof(float));
  expect(ibot4j_last_attention(model, IBOT4J_STUDENT, global, b, gs, gs, attention, err, ERR_LEN), IBOT4J_OK,
         "attention");
  expect(ibot4j_last_attention(model, IBOT4J_TEACHER, global, b, gs, gs, NULL, err, ERR_LEN),
         IBOT4J_ERR_INVALID_ARGUMENT, "attention into NULL");
  free(attention);

  size_t needed = 0;
  expect(ibot4j_tensor_names(model, NULL, 0, &needed, err, ERR_LEN), IBOT4J_OK, "names size");
  char* names = malloc(needed);
  expect(ibot4j_tensor_names(model, names, needed, &needed, err, ERR_LEN), IBOT4J_OK, "names");
  free(names);
  float center[32];
  expect(ibot4j_tensor_read(model, "loss.center", center, 32, err, ERR_LEN), IBOT4J_OK, "read");

  expect(ibot4j_checkpoint_save(model, path, "{\"sanitize\":true}", err, ERR_LEN), IBOT4J_OK, "save");
  expect(ibot4j_checkpoint_load(model, path, err, ERR_LEN), IBOT4J_OK, "load");
  expect(ibot4j_checkpoint_metadata(path, NULL, 0, &needed, err, ERR_LEN), IBOT4J_OK, "metadata");

  /* Errors: each must come back as a status, with nothing left behind. */
  expect(ibot4j_tensor_read(model, "no.such.tensor", center, 32, err, ERR_LEN), IBOT4J_ERR_INVALID_ARGUMENT,
         "bad name");
  expect(ibot4j_checkpoint_load(model, "/nonexistent/x.ibot4j", err, ERR_LEN), IBOT4J_ERR_IO, "missing file");
  expect(ibot4j_checkpoint_load(model, dir, err, ERR_LEN), IBOT4J_ERR_IO, "folder");
  ibot4j_batch bad = batch;
  bad.global_size = 15;
  expect(ibot4j_train_step(model, &bad, &params, &result, err, ERR_LEN), IBOT4J_ERR_INVALID_ARGUMENT, "bad size");
  ibot4j_step_params nan_params = params;
  nan_params.teacher_temp = -1;
  expect(ibot4j_train_step(model, &batch, &nan_params, &result, err, ERR_LEN), IBOT4J_ERR_INVALID_ARGUMENT,
         "bad params");
  ibot4j_config broken = c;
  broken.embed_dim = 15;
  ibot4j_model* none = NULL;
  expect(ibot4j_model_create(&broken, &none, err, ERR_LEN), IBOT4J_ERR_INVALID_ARGUMENT, "bad config");
  expect(ibot4j_train_step(NULL, &batch, &params, &result, err, ERR_LEN), IBOT4J_ERR_INVALID_ARGUMENT, "null model");

  /* The inference encoder: the teacher backbone from the checkpoint, a forward pass, a TorchScript export, refusals. */
  ibot4j_encoder* encoder = NULL;
  expect(ibot4j_encoder_create(&c, &encoder, err, ERR_LEN), IBOT4J_OK, "encoder create");
  expect(ibot4j_encoder_load(encoder, path, IBOT4J_TEACHER, err, ERR_LEN), IBOT4J_OK, "encoder load");
  expect(ibot4j_encoder_forward(encoder, global, b, gs, gs, cls, patch, err, ERR_LEN), IBOT4J_OK, "encoder forward");
  char module[1100];
  snprintf(module, sizeof module, "%s/sanitize.pt", dir);
  expect(ibot4j_encoder_export_torchscript(encoder, module, err, ERR_LEN), IBOT4J_OK, "torchscript");
  int64_t wrong[2] = {3, 16};
  expect(ibot4j_encoder_write(encoder, "norm.weight", center, wrong, 2, err, ERR_LEN), IBOT4J_ERR_INVALID_ARGUMENT,
         "encoder bad shape");
  expect(ibot4j_encoder_load(encoder, "/nonexistent/x.ibot4j", IBOT4J_TEACHER, err, ERR_LEN), IBOT4J_ERR_IO,
         "encoder missing file");
  expect(ibot4j_encoder_free(encoder, err, ERR_LEN), IBOT4J_OK, "encoder free");
  remove(module);

  expect(ibot4j_model_free(model, err, ERR_LEN), IBOT4J_OK, "free");
  free(global);
  free(local);
  free(masks);
  free(cls);
  free(patch);
  remove(path);
  printf(
      "sanitize driver: 20 steps, embed, attention, tensors, checkpoint save/load, encoder load/forward/TorchScript "
      "and 10 rejected calls done\n");
  return 0;
}
