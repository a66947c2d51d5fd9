package org.ibot4j.trainer.run.running;

import java.util.function.BooleanSupplier;
import org.ibot4j.trainer.data.ImageSource;

/**
 * What a library caller brings instead of the CLI's defaults ({@link Pretraining}): training images
 * instead of {@code data_path}, k-NN images, a listener and a cancellation flag. Null sources mean
 * the options' data.
 */
record Hooks(ImageSource data, ImageSource knnMemory, ImageSource knnQueries, Pretraining.Listener listener, BooleanSupplier cancelled) {}
