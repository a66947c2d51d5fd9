package org.ibot4j.trainer.cli;

/** The {@code --threads} rule of every command: 0 means one LibTorch thread per core. */
final class Threads {
    private Threads() {}

    static int or(int requested) {
        return requested > 0 ? requested : Runtime.getRuntime().availableProcessors();
    }
}
