package dev.keycast.protocol.sender;

import dev.keycast.protocol.MalformedInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;

/**
 * Sender and owner key files: the public key as PEM {@code PUBLIC KEY} (Ed25519 SPKI, RFC 8410),
 * the private key as PEM {@code PRIVATE KEY} (PKCS#8), as {@code openssl genpkey -algorithm
 * ed25519} and {@code openssl pkey -pubout} write them.
 */
public final class SenderKeyFiles {
  /** Largest key file read. */
  public static final int MAX_FILE = 4096;

  private SenderKeyFiles() {}

  public static String publicPem(SenderKey key) {
    return pem("PUBLIC KEY", key.spki());
  }

  /** The private key's PEM (a String holding the seed: write it and drop it). */
  public static String privatePem(SenderSigningKey key) {
    byte[] der = key.pkcs8();
    try {
      return pem("PRIVATE KEY", der);
    } finally {
      Arrays.fill(der, (byte) 0);
    }
  }

  public static SenderKey readPublic(Path file) throws IOException, MalformedInputException {
    return SenderKey.fromSpki(unpem(read(file), "PUBLIC KEY"));
  }

  public static SenderSigningKey readPrivate(Path file)
      throws IOException, MalformedInputException {
    byte[] der = unpem(read(file), "PRIVATE KEY");
    try {
      return SenderSigningKey.fromPkcs8(der);
    } finally {
      Arrays.fill(der, (byte) 0);
    }
  }

  private static String read(Path file) throws IOException, MalformedInputException {
    if (Files.size(file) > MAX_FILE) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE, file + " is larger than " + MAX_FILE + " bytes");
    }
    return Files.readString(file, StandardCharsets.US_ASCII);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  static byte[] unpem(String text, String type) throws MalformedInputException {
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    if (b < 0 || e < b) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "expected a PEM " + type);
    }
    try {
      return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
    } catch (IllegalArgumentException x) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "the PEM " + type + " is not base64");
    }
  }
}
