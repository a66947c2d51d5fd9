package org.ibot4j.trainer.data;

import java.io.IOException;
import java.nio.file.Path;

/** Special files for the tests of hostile file systems: made with the system's own tools. */
public final class SpecialFileFixtures {
    private SpecialFileFixtures() {}

    /** A FIFO (named pipe) at {@code path}: opening it for reading blocks until a writer comes. */
    public static void mkfifo(Path path) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
        if (p.waitFor() != 0) throw new IOException("mkfifo " + path + " failed");
    }
}
