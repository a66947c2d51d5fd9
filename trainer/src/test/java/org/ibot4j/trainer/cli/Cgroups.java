package org.ibot4j.trainer.cli;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Child cgroups for tests that put a limit on one process: cgroup v1's controller hierarchies, or v2's root. */
final class Cgroups {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    private Cgroups() {}

    /** A new cgroup with {@code controller} (pids or memory); the test is skipped where none can be made. */
    static Path make(String controller, Path dir) throws IOException {
        String name = "ibot4j-test-" + ProcessHandle.current().pid() + "-" + dir.getFileName();
        Path v1 = ROOT.resolve(controller);
        Path parent;
        if (Files.isDirectory(v1) && Files.exists(v1.resolve("cgroup.procs"))) {
            parent = v1;
        } else {
            assumeTrue(Files.exists(ROOT.resolve("cgroup.subtree_control")), "no cgroup v1 " + controller + " hierarchy and no cgroup v2");
            assumeTrue(Files.readString(ROOT.resolve("cgroup.subtree_control")).contains(controller), "cgroup v2 has no " + controller + " controller");
            parent = ROOT;
        }
        Path made = parent.resolve(name);
        try {
            Files.createDirectory(made);
        } catch (IOException e) {
            assumeTrue(false, "cannot make a cgroup (" + e + "): needs root");
        }
        return made;
    }

    /** Removes a cgroup once its processes have ended. */
    static void remove(Path cgroup) throws IOException, InterruptedException {
        for (int attempt = 0; attempt < 50; attempt++) {
            try {
                Files.deleteIfExists(cgroup);
                return;
            } catch (IOException busy) {
                Thread.sleep(100);  // its last process is still exiting
            }
        }
        Files.deleteIfExists(cgroup);
    }
}
