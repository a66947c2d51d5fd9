package org.ibot4j.api;

import org.ibot4j.bindings.Ibot4jC;

/** A failure reported by the native library, with LibTorch's message and what kind of failure it was. */
public class Ibot4jException extends RuntimeException {

    /** The status codes of {@code ibot4j.h}: who is at fault. */
    public enum Category {
        /** The call was wrong on its face: a bad config, shape, name or file. */
        INVALID_ARGUMENT(Ibot4jC.IBOT4J_ERR_INVALID_ARGUMENT()),
        /** Host or device memory ran out. */
        OUT_OF_MEMORY(Ibot4jC.IBOT4J_ERR_OUT_OF_MEMORY()),
        /** A failure inside LibTorch or ibot4j that the arguments do not explain. */
        INTERNAL(Ibot4jC.IBOT4J_ERR_INTERNAL()),
        /** A file could not be opened, read or written. */
        IO(Ibot4jC.IBOT4J_ERR_IO()),
        /** The accelerator (CUDA) reported an error. */
        DEVICE(Ibot4jC.IBOT4J_ERR_DEVICE()),
        /** The process group failed: a rank was lost, timed out or disagreed. */
        DISTRIBUTED(Ibot4jC.IBOT4J_ERR_DISTRIBUTED());

        private final int status;

        Category(int status) {
            this.status = status;
        }

        static Category ofStatus(int status) {
            for (Category c : values()) if (c.status == status) return c;
            return INTERNAL;
        }
    }

    private final Category category;
    private final String nativeMessage;

    /**
     * A failed native call.
     *
     * @param category what kind of failure the native status reported
     * @param operation the call that failed, e.g. {@code train_step}
     * @param nativeMessage the message the native side wrote
     */
    public Ibot4jException(Category category, String operation, String nativeMessage) {
        super(operation + " failed (" + category + "): " + nativeMessage);
        this.category = category;
        this.nativeMessage = nativeMessage;
    }

    /**
     * What kind of failure this was.
     *
     * @return the category of the native status
     */
    public Category category() {
        return category;
    }

    /**
     * The message exactly as the native side wrote it.
     *
     * @return LibTorch's or ibot4j's text
     */
    public String nativeMessage() {
        return nativeMessage;
    }
}
