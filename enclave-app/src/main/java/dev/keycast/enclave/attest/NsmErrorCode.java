package dev.keycast.enclave.attest;

import java.util.Optional;

/** The NSM's {@code ErrorCode} enum (aws-nitro-enclaves-nsm-api {@code src/api/mod.rs}). */
public enum NsmErrorCode {
  SUCCESS("Success"),
  INVALID_ARGUMENT("InvalidArgument"),
  INVALID_INDEX("InvalidIndex"),
  INVALID_RESPONSE("InvalidResponse"),
  READ_ONLY_INDEX("ReadOnlyIndex"),
  INVALID_OPERATION("InvalidOperation"),
  BUFFER_TOO_SMALL("BufferTooSmall"),
  INPUT_TOO_LARGE("InputTooLarge"),
  INTERNAL_ERROR("InternalError");

  private final String wireName;

  NsmErrorCode(String wireName) {
    this.wireName = wireName;
  }

  /** The name as it appears on the wire, e.g. {@code "InvalidIndex"}. */
  public String wireName() {
    return wireName;
  }

  /** The code whose wire name is exactly {@code name}, if any. */
  public static Optional<NsmErrorCode> fromWireName(String name) {
    for (NsmErrorCode c : values()) {
      if (c.wireName.equals(name)) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }
}
