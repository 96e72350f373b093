package dev.keycast.host.store;

/**
 * A store operation failed. Every failure of an {@link ArtefactStore} surfaces as this checked
 * exception with a stable {@link Code}; when it is thrown by a write, nothing of that write is
 * visible to readers (see {@code storage.md}). Messages never contain stored bytes.
 */
public final class StoreException extends Exception {

  /** Stable failure codes (their {@link #id()} is what logs and APIs carry). */
  public enum Code {
    /** The write collides with something already stored (existing key-set version, id reuse). */
    CONFLICT("conflict"),
    /** The write refers to something that does not exist (forward to an unknown send). */
    NOT_FOUND("not_found"),
    /** The store is out of space or over its configured size limit. */
    STORE_FULL("store_full"),
    /** The store cannot be reached or failed to read or write (I/O error, lock timeout, network). */
    STORE_UNAVAILABLE("store_unavailable"),
    /** Stored data does not decode or violates its own invariants (tampered or corrupt storage). */
    STORE_CORRUPT("store_corrupt");

    private final String id;

    Code(String id) {
      this.id = id;
    }

    /** The stable snake_case identifier of this code. */
    public String id() {
      return id;
    }
  }

  private final Code code;

  public StoreException(Code code, String message) {
    super(code.id() + ": " + message);
    this.code = code;
  }

  public StoreException(Code code, String message, Throwable cause) {
    super(code.id() + ": " + message, cause);
    this.code = code;
  }

  /** The stable failure code. */
  public Code code() {
    return code;
  }
}
