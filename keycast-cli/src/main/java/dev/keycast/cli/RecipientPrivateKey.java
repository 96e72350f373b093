package dev.keycast.cli;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormats;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.OpenedDelivery;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;

/**
 * A recipient's private key read from PEM ({@code PRIVATE KEY}, PKCS#8; or {@code RSA PRIVATE
 * KEY}, PKCS#1), with its fingerprint, able to open the deliveries made to it. RSA keys open CMS
 * deliveries, X25519 keys HPKE deliveries.
 */
final class RecipientPrivateKey implements AutoCloseable {
  private static final Pattern PEM =
      Pattern.compile(
          "-----BEGIN ([A-Z ]{1,40})-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)-----END \\1-----");

  private final RSAPrivateCrtKey rsa;
  private final X25519PrivateKey x25519;
  private final String fingerprint;
  private final byte[] spki;

  private RecipientPrivateKey(
      RSAPrivateCrtKey rsa, X25519PrivateKey x25519, String fingerprint, byte[] spki) {
    this.rsa = rsa;
    this.x25519 = x25519;
    this.fingerprint = fingerprint;
    this.spki = spki;
  }

  /** Reads a PEM private key file. */
  static RecipientPrivateKey load(Path file, String option) throws CliException {
    byte[] bytes = CliFiles.read(file, option, 64 * 1024);
    byte[] der = null;
    try {
      String text = new String(bytes, StandardCharsets.US_ASCII);
      Matcher m = PEM.matcher(text);
      if (!m.find()) {
        throw CliException.usage(option + " " + file + ": no PEM private key found");
      }
      String label = m.group(1);
      try {
        der = Base64.getMimeDecoder().decode(m.group(2));
      } catch (IllegalArgumentException e) {
        throw CliException.usage(option + " " + file + ": bad base64 in the PEM");
      }
      PrivateKeyInfo info =
          switch (label) {
            case "PRIVATE KEY" -> PrivateKeyInfo.getInstance(der);
            case "RSA PRIVATE KEY" ->
                new PrivateKeyInfo(
                    new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE),
                    org.bouncycastle.asn1.pkcs.RSAPrivateKey.getInstance(der));
            case "ENCRYPTED PRIVATE KEY" ->
                throw CliException.usage(
                    option
                        + " "
                        + file
                        + ": the key is encrypted; decrypt it first: openssl pkey -in KEY -out PLAIN.pem");
            case "PUBLIC KEY", "CERTIFICATE" ->
                throw CliException.usage(
                    option
                        + " "
                        + file
                        + ": is a "
                        + "public key or certificate; pass your private key (NAME.key.pem), PKCS#8 PEM");
            default ->
                throw CliException.usage(
                    option
                        + " "
                        + file
                        + ": PEM \""
                        + label
                        + "\" is not a private key (want PRIVATE KEY)");
          };
      if (info.getPrivateKeyAlgorithm()
          .getAlgorithm()
          .equals(PKCSObjectIdentifiers.rsaEncryption)) {
        byte[] pkcs8 = info.getEncoded();
        try {
          KeyFactory kf = KeyFactory.getInstance("RSA");
          RSAPrivateCrtKey k =
              (RSAPrivateCrtKey) kf.generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
          java.security.PublicKey pub =
              kf.generatePublic(new RSAPublicKeySpec(k.getModulus(), k.getPublicExponent()));
          return new RecipientPrivateKey(k, null, Fingerprints.of(pub), pub.getEncoded());
        } finally {
          Arrays.fill(pkcs8, (byte) 0);
        }
      }
      if (info.getPrivateKeyAlgorithm().getAlgorithm().equals(EdECObjectIdentifiers.id_X25519)) {
        X25519PrivateKey k = X25519PrivateKey.fromPkcs8(der);
        return new RecipientPrivateKey(
            null, k, k.publicKey().fingerprint(), k.publicKey().toSpkiDer());
      }
      throw CliException.usage(
          option
              + " "
              + file
              + ": unsupported key algorithm "
              + info.getPrivateKeyAlgorithm().getAlgorithm().getId()
              + " (want RSA or X25519)");
    } catch (MalformedInputException e) {
      throw CliException.usage(option + " " + file + ": " + e.getMessage());
    } catch (GeneralSecurityException
        | java.io.IOException
        | IllegalArgumentException
        | ClassCastException e) {
      throw CliException.usage(option + " " + file + ": not a readable RSA or X25519 private key");
    } finally {
      if (der != null) {
        Arrays.fill(der, (byte) 0);
      }
      Arrays.fill(bytes, (byte) 0);
    }
  }

  String fingerprint() {
    return fingerprint;
  }

  /** The RSA private key (a screen's Security Manager key, for KDMs), or null for X25519. */
  RSAPrivateCrtKey rsaPrivateKey() {
    return rsa;
  }

  /** The public key as a PEM {@code PUBLIC KEY} block. */
  String publicKeyPem() {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(spki)
        + "\n-----END PUBLIC KEY-----\n";
  }

  /**
   * The proof of possession answering {@code challenge} (api.md section 2.2): an RSASSA-PSS
   * signature, or the opened HPKE-sealed response value.
   *
   * @throws CliException the challenge is not for this key or cannot be opened by it
   */
  String prove(dev.keycast.protocol.api.RecipientProof.Challenge challenge) throws CliException {
    if (challenge.token() == null || !fingerprint.equals(challenge.fingerprint())) {
      throw CliException.verification(
          "the host's challenge is for key " + challenge.fingerprint() + ", not " + fingerprint);
    }
    if (rsa != null) {
      return dev.keycast.protocol.api.RecipientProof.signRsa(rsa, challenge.token(), fingerprint);
    }
    try {
      return dev.keycast.protocol.api.RecipientProof.openX25519(x25519, challenge);
    } catch (DecryptionFailedException | MalformedInputException e) {
      throw CliException.verification("the host's challenge cannot be opened with this key");
    }
  }

  String kind() {
    return rsa != null ? "rsa-" + rsa.getModulus().bitLength() : "x25519";
  }

  /**
   * Opens an envelope of the named format with this key.
   *
   * @throws CliException the format is unknown or not one this key type reads
   */
  OpenedDelivery open(String formatId, byte[] envelope)
      throws CliException, MalformedInputException, DecryptionFailedException {
    DeliveryFormat<?> f =
        DeliveryFormats.byId(formatId)
            .orElseThrow(
                () ->
                    CliException.verification(
                        "unknown delivery format \""
                            + formatId
                            + "\" (this keycast knows "
                            + DeliveryFormats.ALL.stream().map(DeliveryFormat::id).toList()
                            + ")"));
    if (rsa != null && f instanceof CmsDeliveryFormat cms) {
      return cms.open(rsa, envelope);
    }
    if (x25519 != null && f instanceof HpkeDeliveryFormat hpke) {
      return hpke.open(x25519, envelope);
    }
    throw CliException.verification("a " + kind() + " key cannot open format " + formatId);
  }

  @Override
  public void close() {
    if (x25519 != null) {
      x25519.destroy();
    }
  }
}
