package org.ibot4j.api;

/**
 * What one step reports. {@code loss = clsLoss + patchLoss + koleoLoss + gramLoss + distillLoss}; {@code gradNorm} is the L2 norm
 * of all gradients before clipping. When {@code finite} is false the step updated nothing.
 *
 * <p>The collapse metrics (docs/collapse.md) come from tensors the step computed anyway; in a
 * data-parallel group they describe this rank's share of the batch, and calls other than
 * {@link IbotModel#trainStep} report them as 0.
 *
 * @param loss the objective, clsLoss + patchLoss + koleoLoss + gramLoss + distillLoss
 * @param clsLoss the [CLS] self-distillation term (lambda1 applied)
 * @param patchLoss the masked-patch term (lambda2 applied)
 * @param gradNorm L2 norm of all gradients before clipping (0 when nothing was updated)
 * @param finite false when the loss was NaN or infinite; then nothing was updated
 * @param step optimiser steps this model has taken
 * @param koleoLoss DINOv2's KoLeo term on the student's global [CLS] tokens, koleo_loss_weight applied (0 when off)
 * @param teacherClsEntropy mean entropy in nats of the teacher's [CLS] targets over the G*B global crops; ln(out_dim) when uniform
 * @param teacherPatchEntropy the same over the masked patch tokens' targets (every s-th of the M masked tokens, s = ceil(M / (G*B))); NaN when the step masked nothing
 * @param prototypesUsed how many of the out_dim prototypes are the argmax of at least one global crop's [CLS] target
 * @param effectiveRank exp(entropy of the normalised singular values) of the teacher's backbone [CLS] tokens [G*B, embed_dim]
 * @param gramLoss DINOv3's Gram anchoring term on the student's global patch tokens, gram_loss_weight applied (0 when off)
 * @param distillLoss the feature distillation term, distill_loss_weight applied (0 when off)
 */
public record StepResult(double loss, double clsLoss, double patchLoss, double gradNorm, boolean finite, long step, double koleoLoss,
        double teacherClsEntropy, double teacherPatchEntropy, int prototypesUsed, double effectiveRank, double gramLoss, double distillLoss) {}
