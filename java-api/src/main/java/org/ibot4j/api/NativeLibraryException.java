package org.ibot4j.api;

/** libibot4j or its LibTorch could not be found, loaded, or does not match what it was built against. */
public class NativeLibraryException extends RuntimeException {
    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }

    public NativeLibraryException(String message) {
        super(message);
    }
}
