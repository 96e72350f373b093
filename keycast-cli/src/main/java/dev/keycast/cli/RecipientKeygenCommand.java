package dev.keycast.cli;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keycast recipient keygen}: a recipient key pair as {@code N.key.pem} (PKCS#8, mode 0600)
 * and {@code N.pub.pem} (SubjectPublicKeyInfo). X25519 private keys are written as PKCS#8 v1
 * ({@code 302e020100300506032b656e04220420 || scalar}), the form {@code openssl genpkey} writes.
 */
@Command(
    name = "keygen",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Generate a recipient key pair: DIR/NAME.key.pem (PKCS#8, mode 0600; openssl reads it) and"
          + " DIR/NAME.pub.pem (the public key to register). Prints the key's fingerprint.",
      "RSA recipients decrypt with 'openssl cms -decrypt' or 'keycast fetch'; X25519 recipients with 'keycast fetch'."
    },
    footer = ExitCodes.HELP)
final class RecipientKeygenCommand extends KeycastCommand {
  private static final byte[] X25519_PKCS8_PREFIX =
      HexFormat.of().parseHex("302e020100300506032b656e04220420");

  @Option(
      names = "--type",
      required = true,
      paramLabel = "TYPE",
      description = "The key type: rsa-2048, rsa-3072, rsa-4096 or x25519.")
  String type;

  @Option(
      names = "--out-dir",
      required = true,
      paramLabel = "DIR",
      description = "The directory to write the two files into (created if needed).")
  Path outDir;

  @Option(
      names = "--name",
      paramLabel = "NAME",
      defaultValue = "recipient",
      description = "Base name of the files. Default: ${DEFAULT-VALUE}.")
  String name;

  /** The JSON output. */
  record Result(String fingerprint, String type, String privateKey, String publicKey) {}

  @Override
  int run() throws CliException {
    if (!name.matches("[A-Za-z0-9._-]{1,100}") || name.startsWith(".")) {
      throw CliException.usage(
          "--name: \""
              + name
              + "\" must be 1..100 characters of [A-Za-z0-9._-], not starting with '.'");
    }
    Path keyFile = outDir.resolve(name + ".key.pem");
    Path pubFile = outDir.resolve(name + ".pub.pem");
    for (Path p : new Path[] {keyFile, pubFile}) {
      if (java.nio.file.Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        throw CliException.io(p + " already exists: remove it or choose another --name");
      }
    }
    byte[] pkcs8;
    byte[] spki;
    SecureRandom random = new SecureRandom();
    switch (type) {
      case "rsa-2048", "rsa-3072", "rsa-4096" -> {
        int bits = Integer.parseInt(type.substring(4));
        try {
          KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
          g.initialize(new RSAKeyGenParameterSpec(bits, RSAKeyGenParameterSpec.F4), random);
          KeyPair kp = g.generateKeyPair();
          pkcs8 = kp.getPrivate().getEncoded();
          spki = kp.getPublic().getEncoded();
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("RSA key generation is unavailable", e);
        }
      }
      case "x25519" -> {
        X25519PrivateKey k = X25519PrivateKey.generate(random);
        byte[] raw = k.toRaw();
        pkcs8 = SendCommand.concat(X25519_PKCS8_PREFIX, raw);
        Arrays.fill(raw, (byte) 0);
        spki = k.publicKey().toSpkiDer();
        k.destroy();
      }
      default ->
          throw CliException.usage(
              "--type: \"" + type + "\" is not one of rsa-2048, rsa-3072, rsa-4096, x25519");
    }
    String fp = Fingerprints.ofSpki(spki);
    byte[] keyPem = pem("PRIVATE KEY", pkcs8);
    try {
      CliFiles.ensureDirectory(outDir, "--out-dir");
      CliFiles.write(keyFile, keyPem, true, false);
      CliFiles.write(pubFile, pem("PUBLIC KEY", spki), false, false);
    } finally {
      Arrays.fill(pkcs8, (byte) 0);
      Arrays.fill(keyPem, (byte) 0);
    }
    if (json) {
      printJson(new Result(fp, type, keyFile.toString(), pubFile.toString()));
    } else {
      out().println("fingerprint:  " + fp);
      out().println("private key:  " + keyFile + " (keep it secret; mode 0600)");
      out()
          .println(
              "public key:   "
                  + pubFile
                  + " (register it: keycast recipient register --key "
                  + pubFile
                  + ")");
    }
    return ExitCodes.OK;
  }

  /** PEM with 64-character lines. The base64 text is built in a byte array the caller can wipe. */
  static byte[] pem(String label, byte[] der) {
    byte[] b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encode(der);
    byte[] head = ("-----BEGIN " + label + "-----\n").getBytes(StandardCharsets.US_ASCII);
    byte[] tail = ("\n-----END " + label + "-----\n").getBytes(StandardCharsets.US_ASCII);
    byte[] out = SendCommand.concat(head, b64, tail);
    Arrays.fill(b64, (byte) 0);
    return out;
  }
}
