package dev.keycast.protocol.keyset;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds every committed vector under {@code vectors/keyset/} and {@code vectors/secret/} from
 * fixed randomness. {@link VectorsTest} checks that the committed files equal this output; run
 * {@code main} with the test-resources directory to rewrite them after a deliberate format change.
 */
public final class KeySetVectors {
  public static final String KEY_SET_SEED = "keycast/vectors/key-set";
  public static final String OTHER_KEY_SET_SEED = "keycast/vectors/other-key-set";
  public static final byte[] DATA_KEY = FixedRandom.bytes("keycast/vectors/keyset/data-key", 32);
  public static final byte[] WRONG_DATA_KEY =
      FixedRandom.bytes("keycast/vectors/keyset/wrong-data-key", 32);
  public static final byte[] ENCRYPTED_DATA_KEY =
      FixedRandom.bytes("keycast/vectors/keyset/encrypted-data-key", 184);
  public static final String KMS_KEY_ID =
      "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  public static final String SECRET_ID = "send-01J9Z3X7QK";
  public static final byte[] SECRET = FixedRandom.bytes("keycast/vectors/secret/content-key", 16);
  public static final byte[] POLICY =
      "{\"v\":1,\"late\":true,\"recipients\":[\"a1\"]}".getBytes(StandardCharsets.UTF_8);

  private static final HexFormat HEX = HexFormat.of();

  private KeySetVectors() {}

  public static KeySet keySet() {
    return KeySet.generate(new FixedRandom(KEY_SET_SEED));
  }

  public static KeySet keySet(String seed) {
    return KeySet.generate(new FixedRandom(seed));
  }

  public static byte[] goldenSealedKeySet() {
    return SealedKeySet.sealVersion1(
            keySet(),
            DATA_KEY,
            KMS_KEY_ID,
            ENCRYPTED_DATA_KEY,
            new FixedRandom("keycast/vectors/keyset/seal"))
        .encode();
  }

  public static byte[] goldenSealedSecret() {
    return SealedSecret.seal(
            keySet(), SECRET_ID, SECRET, POLICY, new FixedRandom("keycast/vectors/secret/seal"))
        .encode();
  }

  /** The sender of the golden version-2 sealed secret: 32 bytes 0x5e (not a real key; the format only carries it). */
  static final byte[] SENDER_KEY = filled(32, 0x5e);

  static final java.time.Instant SENDER_SIGNED_AT = java.time.Instant.parse("2026-12-07T00:00:00Z");

  private static byte[] filled(int n, int b) {
    byte[] a = new byte[n];
    Arrays.fill(a, (byte) b);
    return a;
  }

  /** The golden sealed secret of a signed send (version 2, issue 23). */
  public static byte[] goldenSealedSecretWithSender() {
    return SealedSecret.seal(
            keySet(),
            SECRET_ID,
            SECRET,
            POLICY,
            SENDER_KEY,
            SENDER_SIGNED_AT,
            new FixedRandom("keycast/vectors/secret/seal"))
        .encode();
  }

  /** Relative path (format/name) to file content. */
  public static Map<String, String> generate() {
    Map<String, String> out = new TreeMap<>();
    keySetVectors(out);
    secretVectors(out);
    return out;
  }

  private static void keySetVectors(Map<String, String> out) {
    KeySet ks = keySet();
    KeyBundle bundle = ks.bundle(KMS_KEY_ID);
    byte[] g = goldenSealedKeySet();
    // header offsets: magic 4, version 1, idlen 1, id 35, kmslen 2, kms, rpk 32, spk 32, edklen 2,
    // edk, nonce 12
    int kmsAt = 4 + 1 + 1 + 35 + 2;
    int rpkAt = kmsAt + KMS_KEY_ID.length();
    int spkAt = rpkAt + 32;
    int edkAt = spkAt + 32 + 2;
    int nonceAt = edkAt + ENCRYPTED_DATA_KEY.length;
    int ctAt = nonceAt + 12;
    String dk = HEX.formatHex(DATA_KEY);

    Map<String, String> golden = new LinkedHashMap<>();
    golden.put("data-key", dk);
    golden.put("kms-key-id", KMS_KEY_ID);
    golden.put("key-set-id", ks.id());
    golden.put("receive-public-key", HEX.formatHex(bundle.receivePublicKey()));
    golden.put("signing-public-key", HEX.formatHex(bundle.signingPublicKey()));
    golden.put("receive-public-key-spki", HEX.formatHex(bundle.receivePublicKeySpki()));
    golden.put("key-bundle", HEX.formatHex(bundle.encode()));
    golden.put("user-data", HEX.formatHex(bundle.userData()));
    put(
        out,
        "keyset/golden.ok",
        "sealed key set of KeySet.generate(FixedRandom(\""
            + KEY_SET_SEED
            + "\")), nonce from FixedRandom(\"keycast/vectors/keyset/seal\")",
        "ok",
        golden,
        g);

    Map<String, String> withKey = Map.of("data-key", dk);
    put(
        out,
        "keyset/truncated-header.fail",
        "cut inside the KMS key id",
        "malformed:truncated",
        withKey,
        Arrays.copyOf(g, kmsAt + 10));
    put(
        out,
        "keyset/truncated-ciphertext.fail",
        "last byte of the tag missing",
        "malformed:truncated",
        withKey,
        Arrays.copyOf(g, g.length - 1));
    put(out, "keyset/empty.fail", "zero bytes", "malformed:truncated", withKey, new byte[0]);
    put(
        out,
        "keyset/trailing-byte.fail",
        "one byte after the tag",
        "malformed:malformed",
        withKey,
        Arrays.copyOf(g, g.length + 1));
    put(out, "keyset/bad-magic.fail", "magic KCKT", "malformed:malformed", withKey, set(g, 3, 'T'));
    put(
        out,
        "keyset/unsupported-version.fail",
        "version byte 3",
        "malformed:unsupported_version",
        withKey,
        set(g, 4, 3));
    put(
        out,
        "keyset/bad-key-set-id.fail",
        "key-set id with an uppercase hex digit",
        "malformed:malformed",
        withKey,
        set(g, 9, 'A'));
    put(
        out,
        "keyset/kms-key-id-empty.fail",
        "KMS key id length 0",
        "malformed:malformed",
        withKey,
        set(set(g, kmsAt - 2, 0), kmsAt - 1, 0));
    put(
        out,
        "keyset/encrypted-data-key-too-long.fail",
        "encrypted data key length 6145",
        "malformed:malformed",
        withKey,
        set(set(g, edkAt - 2, 0x18), edkAt - 1, 0x01));
    put(
        out,
        "keyset/oversize.fail",
        "golden padded to " + (SealedKeySet.MAX_ENCODED + 1) + " bytes",
        "malformed:oversize",
        Map.of(
            "data-key",
            dk,
            "append-zeros",
            Integer.toString(SealedKeySet.MAX_ENCODED + 1 - g.length)),
        g);
    put(
        out,
        "keyset/flipped-bit-header-key-set-id.fail",
        "a valid but different key-set id",
        "decryption_failed",
        withKey,
        set(g, 6 + 3, g[6 + 3] == '0' ? '1' : '0'));
    put(
        out,
        "keyset/flipped-bit-header-kms-key-id.fail",
        "one bit of the KMS key id flipped",
        "decryption_failed",
        withKey,
        flip(g, kmsAt + 20, 0x01));
    put(
        out,
        "keyset/flipped-bit-header-encrypted-data-key.fail",
        "one bit of the encrypted data key flipped",
        "decryption_failed",
        withKey,
        flip(g, edkAt + 7, 0x80));
    put(
        out,
        "keyset/flipped-bit-header-nonce.fail",
        "one bit of the nonce flipped",
        "decryption_failed",
        withKey,
        flip(g, nonceAt, 0x01));
    put(
        out,
        "keyset/flipped-bit-ciphertext.fail",
        "one bit of the ciphertext flipped",
        "decryption_failed",
        withKey,
        flip(g, ctAt + 40, 0x04));
    put(
        out,
        "keyset/flipped-bit-tag.fail",
        "one bit of the GCM tag flipped",
        "decryption_failed",
        withKey,
        flip(g, g.length - 1, 0x01));
    KeyBundle other = keySet(OTHER_KEY_SET_SEED).bundle(KMS_KEY_ID);
    put(
        out,
        "keyset/header-receive-key-swapped.fail",
        "header receive key replaced by another key set's",
        "decryption_failed",
        withKey,
        splice(g, rpkAt, other.receivePublicKey()));
    put(
        out,
        "keyset/header-signing-key-swapped.fail",
        "header signing key replaced by another key set's",
        "decryption_failed",
        withKey,
        splice(g, spkAt, other.signingPublicKey()));
    put(
        out,
        "keyset/inconsistent-public-key.fail",
        "authentic ciphertext whose header names another receive key (binding check after decryption)",
        "decryption_failed",
        withKey,
        SealedKeySet.seal(
                ks,
                other.receivePublicKey(),
                bundle.signingPublicKey(),
                DATA_KEY,
                KMS_KEY_ID,
                ENCRYPTED_DATA_KEY,
                new FixedRandom("keycast/vectors/keyset/seal"))
            .encode());
    put(
        out,
        "keyset/wrong-data-key.fail",
        "golden bytes, another data key",
        "decryption_failed",
        Map.of("data-key", HEX.formatHex(WRONG_DATA_KEY)),
        g);
    put(
        out,
        "keyset/short-data-key.fail",
        "golden bytes, a 16-byte data key",
        "decryption_failed",
        Map.of("data-key", HEX.formatHex(Arrays.copyOf(DATA_KEY, 16))),
        g);
    ks.destroy();
  }

  private static void secretVectors(Map<String, String> out) {
    byte[] g = goldenSealedSecret();
    // magic 4, version 1, idlen 1, id 35, sidlen 1, sid, policy 32, nonce 12, ctlen 4
    int sidAt = 4 + 1 + 1 + 35 + 1;
    int polAt = sidAt + SECRET_ID.length();
    int nonceAt = polAt + 32;
    int lenAt = nonceAt + 12;
    int ctAt = lenAt + 4;
    String policy = HEX.formatHex(POLICY);

    Map<String, String> golden = new LinkedHashMap<>();
    golden.put("key-set-seed", KEY_SET_SEED);
    golden.put("policy", policy);
    golden.put("secret-id", SECRET_ID);
    golden.put("secret", HEX.formatHex(SECRET));
    put(
        out,
        "secret/golden.ok",
        "SealedSecret.seal of the golden key set, nonce from FixedRandom(\"keycast/vectors/secret/seal\")",
        "ok",
        golden,
        g);
    byte[] g2 = goldenSealedSecretWithSender();
    Map<String, String> golden2 = new LinkedHashMap<>(golden);
    golden2.put("sender-key", HEX.formatHex(SENDER_KEY));
    golden2.put("sender-signed-at", SENDER_SIGNED_AT.toString());
    put(
        out,
        "secret/golden-v2-sender.ok",
        "SealedSecret.seal with sender 32 x 0x5e signed at 2026-12-07T00:00:00Z"
            + " (version 2), nonce from FixedRandom(\"keycast/vectors/secret/seal\")",
        "ok",
        golden2,
        g2);
    int senderAt = polAt + 32;
    put(
        out,
        "secret/v2-sender-key-altered.fail",
        "version 2, one bit of the sender key flipped",
        "decryption_failed",
        Map.of(),
        flip(g2, senderAt + 7, 0x01));
    put(
        out,
        "secret/v2-signed-at-altered.fail",
        "version 2, signed-at one second later",
        "decryption_failed",
        Map.of(),
        flip(g2, senderAt + 32 + 7, 0x01));
    byte[] stripped = new byte[g2.length - 40];
    System.arraycopy(g2, 0, stripped, 0, senderAt);
    System.arraycopy(g2, senderAt + 40, stripped, senderAt, g2.length - senderAt - 40);
    stripped[4] = 1;
    put(
        out,
        "secret/v2-sender-stripped.fail",
        "version 2 rewritten as version 1 without the sender",
        "decryption_failed",
        Map.of(),
        stripped);
    put(
        out,
        "secret/v2-signed-at-out-of-range.fail",
        "version 2, signed-at with its top bit set (negative)",
        "malformed:malformed",
        Map.of(),
        flip(g2, senderAt + 32, 0x80));
    Map<String, String> d = Map.of();
    put(
        out,
        "secret/truncated-header.fail",
        "cut inside the policy digest",
        "malformed:truncated",
        d,
        Arrays.copyOf(g, polAt + 5));
    put(
        out,
        "secret/truncated-ciphertext.fail",
        "last byte of the tag missing",
        "malformed:truncated",
        d,
        Arrays.copyOf(g, g.length - 1));
    put(
        out,
        "secret/trailing-byte.fail",
        "one byte after the tag",
        "malformed:malformed",
        d,
        Arrays.copyOf(g, g.length + 1));
    put(
        out,
        "secret/bad-magic.fail",
        "magic KCKS (a sealed key set's)",
        "malformed:malformed",
        d,
        set(g, 2, 'K'));
    put(
        out,
        "secret/unsupported-version.fail",
        "version byte 0",
        "malformed:unsupported_version",
        d,
        set(g, 4, 0));
    put(
        out,
        "secret/bad-secret-id.fail",
        "secret id with a space",
        "malformed:malformed",
        d,
        set(g, sidAt + 2, ' '));
    put(
        out,
        "secret/ciphertext-length-too-small.fail",
        "ciphertext length 15 (shorter than a tag)",
        "malformed:malformed",
        d,
        set(g, lenAt + 3, 15));
    put(
        out,
        "secret/ciphertext-length-too-large.fail",
        "ciphertext length 65553",
        "malformed:malformed",
        d,
        splice(g, lenAt, new byte[] {0, 1, 0, 0x11}));
    put(
        out,
        "secret/oversize.fail",
        "golden padded past the limit",
        "malformed:oversize",
        Map.of("append-zeros", Integer.toString(SealedSecret.MAX_ENCODED + 1 - g.length)),
        g);
    put(
        out,
        "secret/flipped-bit-header-key-set-id.fail",
        "a valid but different key-set id",
        "decryption_failed",
        d,
        set(g, 6 + 3, g[6 + 3] == '0' ? '1' : '0'));
    put(
        out,
        "secret/flipped-bit-header-secret-id.fail",
        "one bit of the secret id flipped (still valid syntax)",
        "decryption_failed",
        d,
        flip(g, sidAt, 0x01));
    put(
        out,
        "secret/flipped-bit-header-policy-digest.fail",
        "one bit of the policy digest flipped",
        "decryption_failed",
        d,
        flip(g, polAt + 31, 0x01));
    put(
        out,
        "secret/flipped-bit-header-nonce.fail",
        "one bit of the nonce flipped",
        "decryption_failed",
        d,
        flip(g, nonceAt + 11, 0x40));
    put(
        out,
        "secret/flipped-bit-ciphertext.fail",
        "one bit of the ciphertext flipped",
        "decryption_failed",
        d,
        flip(g, ctAt, 0x01));
    put(
        out,
        "secret/flipped-bit-tag.fail",
        "one bit of the GCM tag flipped",
        "decryption_failed",
        d,
        flip(g, g.length - 16, 0x01));
    put(
        out,
        "secret/wrong-policy.fail",
        "golden bytes opened with other policy bytes",
        "decryption_failed",
        Map.of("policy", HEX.formatHex("{\"v\":1}".getBytes(StandardCharsets.UTF_8))),
        g);
    put(
        out,
        "secret/wrong-storage-key.fail",
        "golden bytes opened with another key set",
        "decryption_failed",
        Map.of("key-set-seed", OTHER_KEY_SET_SEED),
        g);
  }

  static byte[] set(byte[] b, int at, int value) {
    byte[] c = b.clone();
    c[at] = (byte) value;
    return c;
  }

  static byte[] flip(byte[] b, int at, int mask) {
    byte[] c = b.clone();
    c[at] ^= (byte) mask;
    return c;
  }

  static byte[] splice(byte[] b, int at, byte[] with) {
    byte[] c = b.clone();
    System.arraycopy(with, 0, c, at, with.length);
    return c;
  }

  static void put(
      Map<String, String> out,
      String path,
      String comment,
      String expect,
      Map<String, String> extra,
      byte[] input) {
    out.put(
        VectorFile.expectName(path, expect),
        VectorFile.render(comment, expect, new TreeMap<>(extra), input));
  }

  /** Writes the vectors under {@code args[0]} (the {@code src/test/resources/vectors} directory). */
  public static void main(String[] args) throws IOException {
    write(Path.of(args[0]), generate());
  }

  public static void write(Path root, Map<String, String> files) throws IOException {
    for (Map.Entry<String, String> e : files.entrySet()) {
      Path p = root.resolve(e.getKey());
      Files.createDirectories(p.getParent());
      Files.writeString(p, e.getValue());
    }
  }
}
