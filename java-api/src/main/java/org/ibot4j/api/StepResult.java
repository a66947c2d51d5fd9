package org.ibot4j.api;

/**
 * What one step reports. {@code loss = clsLoss + patchLoss}; {@code gradNorm} is the L2 norm of all
 * gradients before clipping. When {@code finite} is false the step updated nothing.
 *
 * @param loss the iBOT loss, clsLoss + patchLoss
 * @param clsLoss the [CLS] self-distillation term (lambda1 applied)
 * @param patchLoss the masked-patch term (lambda2 applied)
 * @param gradNorm L2 norm of all gradients before clipping (0 when nothing was updated)
 * @param finite false when the loss was NaN or infinite; then nothing was updated
 * @param step optimiser steps this model has taken
 */
public record StepResult(double loss, double clsLoss, double patchLoss, double gradNorm, boolean finite, long step) {}
