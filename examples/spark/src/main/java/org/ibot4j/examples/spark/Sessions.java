package org.ibot4j.examples.spark;

import org.apache.spark.sql.SparkSession;

/** Spark sessions that run in local mode from `java`/Maven and on the cluster spark-submit names. */
final class Sessions {
    private Sessions() {}

    /** True under spark-submit (it sets spark.master); the local-mode defaults then stay out of the way. */
    static boolean submitted() {
        return System.getProperty("spark.master") != null;
    }

    /**
     * A session on spark-submit's master, else on {@code localMaster}.
     *
     * @param localMaster e.g. local[2]
     * @param name the application's name
     */
    static SparkSession start(String localMaster, String name) {
        SparkSession.Builder builder = SparkSession.builder().appName(name).config("spark.ui.enabled", "false")
                // Spark 4 gives each session its own artifacts by default: a Dataset job then fetches only the
                // session's files to the executors, not those of SparkContext.addFile (the embedding's checkpoint),
                // and SparkFiles.get on an executor finds nothing. Local mode cannot show it (the driver's copy is
                // the executor's); found on the standalone cluster of ci/spark-cluster.
                .config("spark.sql.artifact.isolation.enabled", "false");
        if (!submitted()) builder.master(localMaster);
        return builder.getOrCreate();
    }
}
