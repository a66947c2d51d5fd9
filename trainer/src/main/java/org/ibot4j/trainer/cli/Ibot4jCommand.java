package org.ibot4j.trainer.cli;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** A sub-command: writes its results to {@link #out} and returns the exit code. */
abstract class Ibot4jCommand implements Callable<Integer> {
    /** Where results go (standard output in the launcher, a buffer in tests). */
    PrintStream out = System.out;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
}
