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
        SparkSession.Builder builder = SparkSession.builder().appName(name).config("spark.ui.enabled", "false");
        if (!submitted()) builder.master(localMaster);
        return builder.getOrCreate();
    }
}
