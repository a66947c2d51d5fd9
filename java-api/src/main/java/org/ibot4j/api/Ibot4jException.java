package org.ibot4j.api;

/** A failure reported by the native library, with LibTorch's message and what kind of failure it was. */
public class Ibot4jException extends RuntimeException {

    /** Mirrors the status codes of {@code ibot4j.h}. */
    public enum Category {
        INVALID_ARGUMENT, OUT_OF_MEMORY, INTERNAL, IO;

        static Category ofStatus(int status) {
            return switch (status) {
                case 1 -> INVALID_ARGUMENT;
                case 2 -> OUT_OF_MEMORY;
                case 4 -> IO;
                default -> INTERNAL;
            };
        }
    }

    private final Category category;
    private final String nativeMessage;

    public Ibot4jException(Category category, String operation, String nativeMessage) {
        super(operation + " failed (" + category + "): " + nativeMessage);
        this.category = category;
        this.nativeMessage = nativeMessage;
    }

    public Category category() {
        return category;
    }

    /** The message exactly as the native side wrote it. */
    public String nativeMessage() {
        return nativeMessage;
    }
}
