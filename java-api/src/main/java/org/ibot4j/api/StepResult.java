package org.ibot4j.api;

/**
 * What one step reports. {@code loss = clsLoss + patchLoss}; {@code gradNorm} is the L2 norm of all
 * gradients before clipping. When {@code finite} is false the step updated nothing.
 */
public record StepResult(double loss, double clsLoss, double patchLoss, double gradNorm, boolean finite, long step) {}
