package org.ibot4j.trainer.run.reporting;

/**
 * One step's row of {@code metrics.jsonl} and {@code metrics.csv}: the columns are these components,
 * in this order, under their snake_case names ({@link MetricsLog#COLUMNS}). A new metric is a new
 * component at the end (rows of earlier runs keep their columns on resume).
 *
 * @param iteration the step's index in the run (0-based)
 * @param epoch its epoch
 * @param loss total loss
 * @param clsLoss [CLS] self-distillation loss
 * @param patchLoss masked patch-token loss
 * @param lr learning rate used
 * @param weightDecay weight decay used
 * @param teacherMomentum EMA weight of the teacher
 * @param teacherTemp teacher [CLS] temperature
 * @param teacherPatchTemp teacher patch temperature
 * @param gradNorm gradient norm before clipping
 * @param imagesPerS the global batch over the step's wall time
 * @param dataWaitS time spent waiting for the batch
 * @param stepS the step's wall time
 * @param finite whether the loss was finite (a non-finite step updates nothing)
 * @param skippedImages unreadable images skipped by the loader so far
 * @param koleoLoss KoLeo regulariser (0 when off)
 * @param teacherClsEntropy entropy of the teacher's mean [CLS] distribution
 * @param teacherPatchEntropy the same for patch tokens
 * @param prototypesUsed prototypes that are some image's argmax
 * @param prototypeShare the largest share of the batch on one prototype
 * @param effectiveRank effective rank of the teacher's [CLS] embeddings of the batch
 * @param gramLoss Gram anchoring term (0 when off)
 * @param backboneFrozen whether the step was in the head warm-up (backbone frozen)
 * @param distillLoss feature distillation term (0 when off)
 */
public record MetricsRow(long iteration, int epoch, double loss, double clsLoss, double patchLoss, double lr, double weightDecay,
        double teacherMomentum, double teacherTemp, double teacherPatchTemp, double gradNorm, double imagesPerS, double dataWaitS,
        double stepS, boolean finite, long skippedImages, double koleoLoss, double teacherClsEntropy, double teacherPatchEntropy,
        int prototypesUsed, double prototypeShare, double effectiveRank, double gramLoss, boolean backboneFrozen, double distillLoss) {}
