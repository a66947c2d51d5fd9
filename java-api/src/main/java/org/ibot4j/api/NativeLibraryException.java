package org.ibot4j.api;

/** libibot4j or its LibTorch could not be found, loaded, or does not match what it was built against. */
public class NativeLibraryException extends RuntimeException {
    /**
     * The native library or LibTorch could not be found or loaded.
     *
     * @param message what was looked for, where, and how to fix it
     * @param cause the loader's error
     */
    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * The native library or LibTorch could not be found or loaded.
     *
     * @param message what was looked for, where, and how to fix it
     */
    public NativeLibraryException(String message) {
        super(message);
    }
}
