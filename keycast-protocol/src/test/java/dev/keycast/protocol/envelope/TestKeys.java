package dev.keycast.protocol.envelope;

import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/** Loads the committed test-only keys under {@code vectors/envelope/keys}. */
final class TestKeys {
  private TestKeys() {}

  static byte[] resource(String path) {
    try (InputStream in = TestKeys.class.getResourceAsStream("/vectors/envelope/" + path)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + path);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String text(String path) {
    return new String(resource(path), StandardCharsets.US_ASCII);
  }

  static byte[] pemBody(String pem) {
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return Base64.getDecoder().decode(b64);
  }

  static RsaRecipientKey rsaRecipient(int bits) throws Exception {
    return (RsaRecipientKey) RecipientKeys.parse(resource("keys/rsa-" + bits + ".pub.pem"));
  }

  static RsaRecipientKey rsaRecipientWithCert() throws Exception {
    return (RsaRecipientKey) RecipientKeys.parse(resource("keys/rsa-2048.cert.pem"));
  }

  static RSAPrivateKey rsaPrivate(int bits) throws Exception {
    byte[] der = pemBody(text("keys/rsa-" + bits + ".key.pem"));
    return (RSAPrivateKey)
        KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
  }

  static X25519RecipientKey x25519Recipient() throws Exception {
    return (X25519RecipientKey) RecipientKeys.parse(resource("keys/x25519.pub.pem"));
  }

  static X25519PrivateKey x25519Private() throws Exception {
    return X25519PrivateKey.fromPkcs8(pemBody(text("keys/x25519.key.pem")));
  }

  /** Independent of fromPkcs8: the raw scalar is the last 32 bytes of OpenSSL's 48-byte PKCS#8. */
  static byte[] x25519PrivateRawFromPkcs8Tail() {
    byte[] der = pemBody(text("keys/x25519.key.pem"));
    return Arrays.copyOfRange(der, der.length - 32, der.length);
  }
}
