package dev.keycast.protocol.cinema;

/**
 * SMPTE ST 430-1 content key types: the four ASCII letters carried in the KDM's {@code KeyType}
 * element and at offset 52 of every cipher block.
 */
public enum KeyType {
  /** Main picture (image) essence. */
  MDIK,
  /** Main sound (audio) essence. */
  MDAK,
  /** Main subtitle essence. */
  MDSK,
  /** Dolby Atmos (immersive audio) essence. */
  MDEK,
  /** Forensic marking, image. */
  FMIK,
  /** Forensic marking, audio. */
  FMAK;

  /** The type named by four letters, or a refusal. */
  public static KeyType parse(String letters) throws CinemaException {
    for (KeyType t : values()) {
      if (t.name().equals(letters)) {
        return t;
      }
    }
    throw new CinemaException(
        "content_key_type", "key type must be one of MDIK, MDAK, MDSK, MDEK, FMIK, FMAK");
  }
}
