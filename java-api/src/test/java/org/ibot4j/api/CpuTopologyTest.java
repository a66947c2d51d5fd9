package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default thread count is the physical cores the process may use, read from a sysfs tree. */
class CpuTopologyTest {
    @Test
    void hyperthreadSiblingsCountOnce(@TempDir Path dir) throws Exception {
        Path status = Files.writeString(dir.resolve("status"), "Name:\tjava\nCpus_allowed_list:\t0-1\n");
        cpu(dir, 0, 0, 0);
        cpu(dir, 1, 0, 0);  // the sibling of cpu0
        assertThat(CpuTopology.physicalCores(dir, status)).isEqualTo(1);
        cpu(dir, 1, 0, 1);
        assertThat(CpuTopology.physicalCores(dir, status)).isEqualTo(Math.min(2, CpuTopology.logicalCpus()));
        cpu(dir, 1, 1, 0);  // same core id on another socket is another core
        assertThat(CpuTopology.physicalCores(dir, status)).isEqualTo(Math.min(2, CpuTopology.logicalCpus()));
    }

    @Test
    void allowedListRangesAndAnUnreadableTopology(@TempDir Path dir) throws Exception {
        Path status = Files.writeString(dir.resolve("status"), "Cpus_allowed_list:\t0-3,8,10-11\n");
        assertThat(CpuTopology.allowedCpus(status)).containsExactly(0, 1, 2, 3, 8, 10, 11);
        assertThat(CpuTopology.physicalCores(dir.resolve("no-sysfs"), status)).isEqualTo(CpuTopology.logicalCpus());
        assertThat(CpuTopology.physicalCores()).isBetween(1, CpuTopology.logicalCpus());
    }

    private static void cpu(Path sysfs, int cpu, int pkg, int core) throws Exception {
        Path t = Files.createDirectories(sysfs.resolve("cpu" + cpu).resolve("topology"));
        Files.writeString(t.resolve("physical_package_id"), pkg + "\n");
        Files.writeString(t.resolve("core_id"), core + "\n");
    }
}
