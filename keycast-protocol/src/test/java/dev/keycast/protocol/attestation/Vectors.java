package dev.keycast.protocol.attestation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;

/** The real attestation documents of {@code src/test-vectors/attestation}. */
public final class Vectors {
  /** Timestamp of nitrite-production.b64. */
  public static final Instant PRODUCTION_TIME = Instant.ofEpochMilli(1725719859545L);

  /** Timestamp of nitrite-debug.b64. */
  public static final Instant DEBUG_TIME = Instant.parse("2024-09-07T14:38:06.508Z");

  private Vectors() {}

  public static Path dir() {
    String p = System.getProperty("keycast.vectors");
    if (p == null) {
      throw new IllegalStateException(
          "system property keycast.vectors is not set (surefire sets it)");
    }
    return Path.of(p, "attestation");
  }

  public static byte[] base64(String name) {
    try {
      return Base64.getMimeDecoder().decode(Files.readString(dir().resolve(name)).trim());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static byte[] production() {
    return base64("nitrite-production.b64");
  }

  public static byte[] debug() {
    return base64("nitrite-debug.b64");
  }

  public static byte[] selfSigned() {
    return base64("nitrite-selfsigned-synthetic.b64");
  }
}
