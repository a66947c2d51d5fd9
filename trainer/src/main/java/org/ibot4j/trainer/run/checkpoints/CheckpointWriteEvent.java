package org.ibot4j.trainer.run.checkpoints;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** One checkpoint write for JDK Flight Recorder; the event's duration is the atomic write (temporary file to rename). */
@Name("org.ibot4j.CheckpointWrite")
@Category("ibot4j")
@Label("Checkpoint Write")
@Description("A checkpoint written atomically by the trainer: its file, size and (as the event's duration) the time it took")
@StackTrace(false)
final class CheckpointWriteEvent extends Event {
    @Label("Path")
    String path;

    @Label("Size")
    @DataAmount(DataAmount.BYTES)
    long bytes;

    @Label("Step")
    @Description("Iterations done when it was written")
    long step;
}
