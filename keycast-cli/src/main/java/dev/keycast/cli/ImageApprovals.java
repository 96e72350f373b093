package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.upgrade.ImageApproval;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.SortedMap;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/** What {@code keycast image approve} and {@code verify} share: deployment files and approver keys. */
final class ImageApprovals {
  /** DER prefix of an Ed25519 PKCS#8 private key as openssl writes it (RFC 8410): the 32-byte seed follows. */
  private static final byte[] PKCS8_ED25519_PREFIX =
      HexFormat.of().parseHex("302e020100300506032b657004220420");

  private ImageApprovals() {}

  /** The one image of a deployment file and the KMS key it pins. */
  record Deployment(
      String pcr0, Optional<String> pcr3, Optional<String> pcr8, Optional<String> kmsKeyArn) {}

  static Deployment deployment(Path file, String option) throws CliException {
    byte[] text = CliFiles.read(file, option, ExpectedPcrs.MAX_FILE_BYTES);
    ExpectedPcrs pcrs;
    Optional<String> arn;
    try {
      pcrs = ExpectedPcrs.parseJson(text);
      arn = ExpectedPcrs.kmsKeyArn(text);
    } catch (MalformedInputException e) {
      throw CliException.usage(option + " " + file + ": " + e.getMessage());
    }
    if (pcrs.sets().size() != 1) {
      throw CliException.usage(
          option
              + " "
              + file
              + " allows "
              + pcrs.sets().size()
              + " PCR sets; an image approval names exactly one image");
    }
    SortedMap<Integer, byte[]> set = pcrs.sets().getFirst();
    return new Deployment(
        hex(set.get(0)),
        Optional.ofNullable(set.get(3)).map(ImageApprovals::hex),
        Optional.ofNullable(set.get(8)).map(ImageApprovals::hex),
        arn);
  }

  /** The 32-byte Ed25519 seed of a PKCS#8 PEM private key ({@code openssl genpkey -algorithm ed25519}). */
  static byte[] approverSeed(Path pem, String option) throws CliException {
    String text = new String(CliFiles.read(pem, option, 4096), StandardCharsets.US_ASCII);
    String b64 =
        text.replace("-----BEGIN PRIVATE KEY-----", "")
            .replace("-----END PRIVATE KEY-----", "")
            .replaceAll("\\s", "");
    byte[] der;
    try {
      der = Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      der = new byte[0];
    }
    if (!text.contains("-----BEGIN PRIVATE KEY-----")
        || der.length != 48
        || !java.util.Arrays.equals(der, 0, 16, PKCS8_ED25519_PREFIX, 0, 16)) {
      java.util.Arrays.fill(der, (byte) 0);
      throw CliException.usage(
          option
              + " "
              + pem
              + " is not an Ed25519 PKCS#8 PEM private key"
              + " (make one with: openssl genpkey -algorithm ed25519 -out approver.pem)");
    }
    byte[] seed = java.util.Arrays.copyOfRange(der, 16, 48);
    java.util.Arrays.fill(der, (byte) 0);
    return seed;
  }

  static byte[] publicKey(byte[] seed) {
    byte[] pub = new byte[32];
    Ed25519.generatePublicKey(seed, 0, pub, 0);
    return pub;
  }

  static ImageApproval.Signature sign(ImageApproval.Statement statement, byte[] seed) {
    byte[] msg = statement.encode();
    byte[] sig = new byte[64];
    Ed25519.sign(seed, 0, msg, 0, msg.length, sig, 0);
    return new ImageApproval.Signature(publicKey(seed), sig);
  }

  static ImageApproval read(Path file, String option) throws CliException {
    try {
      return ImageApproval.parse(CliFiles.read(file, option, ImageApproval.MAX_ENCODED));
    } catch (MalformedInputException e) {
      throw CliException.usage(option + " " + file + ": " + e.getMessage());
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
