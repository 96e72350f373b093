package dev.keycast.protocol.cbor;

/** The decoded form of CBOR {@code null} (0xf6) in {@link CborReader#readValue()} trees. */
public enum CborNull {
  INSTANCE
}
