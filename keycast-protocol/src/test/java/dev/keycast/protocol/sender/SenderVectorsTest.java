package dev.keycast.protocol.sender;

import static dev.keycast.protocol.sender.SenderGolden.HEX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySetVectors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden and negative vectors of sender identity (wire-format.md section 8.5): the exact bytes of
 * the sender set, the owner's update statement, the send statement and the sealed sender set, with
 * their Ed25519 signatures checked by OpenSSL as an independent verifier.
 */
class SenderVectorsTest {
  static final String SENDER_SET =
      "6b6579636173742f76312f73656e6465722d736574000000000000000001018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c00018139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
  static final String SENDER_SET_SHA256 =
      "19f8d7cbd3680e73cdbeb7d22400c70c5bb2966d316972f98c3ed9002b45b7a1";
  static final String UPDATE_INPUT =
      "6b6579636173742f76312f73656e6465722d7365742d75706461746500236b732d31356333666339343263646332376163373039383161366134663461646431366b6579636173742f76312f73656e6465722d736574000000000000000002018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c00028139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3948a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
  static final String UPDATE_SIGNATURE =
      "576d80bf7b65dd7680ba74171a988c2672418026733f3d15b681d70721e5f76781cdad5402ac4b981615253260fddb85a2d70e9812674afb313c5467e254030c";
  static final String SEND_INPUT =
      "6b6579636173742f76312f73656e642d73746174656d656e7400236b732d3135633366633934326364633237616337303938316136613466346164643136823412d1eacb67956220e532959f0104603057c88704863ca38e7cd188fda812239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5000102030405060708090a0b0c0d0e0f000000006b15f7008139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
  static final String SEND_SIGNATURE =
      "500b8aee2d03b8c9d3281b85d22a90a1c69a7ba2603e85fb6846c42efc33b9065523f24e97735c76c486484030b6e687066df52155c3953cc3c576ebca8a5305";
  static final String SEALED_SENDER_SET =
      "4b43534e01236b732d3135633366633934326364633237616337303938316136613466346164643136000000616b6579636173742f76312f73656e6465722d736574000000000000000001018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c00018139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3948ae06ccdc536dab8b9c4a384546bd8594896338f351ffc5218c40eedd9c1974f";

  @Test
  void goldenEncodingsAndSignatures() throws Exception {
    assertThat(HEX.formatHex(SenderGolden.SET.encode())).isEqualTo(SENDER_SET);
    assertThat(HEX.formatHex(SenderGolden.SET.digest())).isEqualTo(SENDER_SET_SHA256);
    assertThat(SenderSet.parse(HEX.parseHex(SENDER_SET))).isEqualTo(SenderGolden.SET);
    SenderSet v2 = SenderGolden.SET.withSender(SenderGolden.OWNER.publicKey());
    SenderSetUpdate u = SenderSetUpdate.sign(SenderGolden.KEY_SET.id(), v2, SenderGolden.OWNER);
    assertThat(HEX.formatHex(SenderSetUpdate.signingInput(SenderGolden.KEY_SET.id(), v2)))
        .isEqualTo(UPDATE_INPUT);
    assertThat(HEX.formatHex(u.signature())).isEqualTo(UPDATE_SIGNATURE);
    assertThat(SenderSetUpdate.fromJson(u.toJson()).signatureVerifies()).isTrue();
    assertThat(HEX.formatHex(SenderGolden.STATEMENT.signingInput())).isEqualTo(SEND_INPUT);
    assertThat(HEX.formatHex(SenderGolden.STATEMENT.sign(SenderGolden.SENDER)))
        .isEqualTo(SEND_SIGNATURE);
    assertThat(SenderGolden.STATEMENT.verifies(HEX.parseHex(SEND_SIGNATURE))).isTrue();
    assertThat(HEX.formatHex(SealedSenderSet.seal(SenderGolden.KEY_SET, SenderGolden.SET)))
        .isEqualTo(SEALED_SENDER_SET);
    assertThat(SealedSenderSet.open(SenderGolden.KEY_SET, HEX.parseHex(SEALED_SENDER_SET)))
        .isEqualTo(SenderGolden.SET);
  }

  /** OpenSSL, not our code, checks both signatures over the golden inputs and the PEM key files. */
  @Test
  void opensslVerifiesTheGoldenSignatures(@TempDir Path dir) throws Exception {
    check(dir, "send", SenderGolden.SENDER, SEND_INPUT, SEND_SIGNATURE);
    check(dir, "update", SenderGolden.OWNER, UPDATE_INPUT, UPDATE_SIGNATURE);
    // and a flipped bit fails there too
    byte[] bad = HEX.parseHex(SEND_SIGNATURE);
    bad[5] ^= 1;
    assertThat(openssl(dir, "bad", SenderGolden.SENDER, HEX.parseHex(SEND_INPUT), bad)).isNotZero();
  }

  private static void check(Path dir, String name, SenderSigningKey key, String input, String sig)
      throws Exception {
    assertThat(openssl(dir, name, key, HEX.parseHex(input), HEX.parseHex(sig))).isZero();
  }

  private static int openssl(Path dir, String name, SenderSigningKey key, byte[] input, byte[] sig)
      throws Exception {
    Path pub = dir.resolve(name + ".pub.pem");
    Files.writeString(pub, SenderKeyFiles.publicPem(key.publicKey()));
    Path in = Files.write(dir.resolve(name + ".in"), input);
    Path s = Files.write(dir.resolve(name + ".sig"), sig);
    // the private key file as openssl reads it: derive the public key and compare
    Path priv = dir.resolve(name + ".key.pem");
    Files.writeString(priv, SenderKeyFiles.privatePem(key));
    Process derive =
        new ProcessBuilder("openssl", "pkey", "-in", priv.toString(), "-pubout")
            .redirectErrorStream(true)
            .start();
    String derived = new String(derive.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(derive.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(derived.strip()).isEqualTo(Files.readString(pub).strip());
    Process p =
        new ProcessBuilder(
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                pub.toString(),
                "-rawin",
                "-in",
                in.toString(),
                "-sigfile",
                s.toString())
            .redirectErrorStream(true)
            .start();
    p.getInputStream().readAllBytes();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }

  static Stream<Arguments> badSenderSets() {
    byte[] good = HEX.parseHex(SENDER_SET);
    int owners = 21 + 1 + 8;
    byte[] zeroVersion = good.clone();
    zeroVersion[owners - 1] = 0;
    byte[] noOwners = Arrays.copyOf(good, owners + 1 + 2);
    noOwners[owners] = 0;
    noOwners[owners + 1] = 0;
    noOwners[owners + 2] = 0;
    byte[] badLabel = good.clone();
    badLabel[0] ^= 1;
    byte[] notAPoint = good.clone();
    Arrays.fill(notAPoint, owners + 1, owners + 33, (byte) 0xff);
    // two senders in descending order
    SenderSet two =
        new SenderSet(
            1,
            List.of(SenderGolden.OWNER.publicKey()),
            List.of(SenderGolden.SENDER.publicKey(), SenderGolden.OWNER.publicKey()));
    byte[] sorted = two.encode();
    byte[] unsorted = sorted.clone();
    int s0 = sorted.length - 64;
    System.arraycopy(sorted, s0 + 32, unsorted, s0, 32);
    System.arraycopy(sorted, s0, unsorted, s0 + 32, 32);
    byte[] duplicate = sorted.clone();
    System.arraycopy(sorted, s0, duplicate, s0 + 32, 32);
    return Stream.of(
        Arguments.of("empty", new byte[0], "truncated"),
        Arguments.of("cut by one", Arrays.copyOf(good, good.length - 1), "truncated"),
        Arguments.of("trailing byte", Arrays.copyOf(good, good.length + 1), "malformed"),
        Arguments.of("version 0", zeroVersion, "malformed"),
        Arguments.of("no owner", noOwners, "malformed"),
        Arguments.of("wrong label", badLabel, "malformed"),
        Arguments.of("owner key not on the curve", notAPoint, "malformed"),
        Arguments.of("senders not ascending", unsorted, "malformed"),
        Arguments.of("sender listed twice", duplicate, "malformed"),
        Arguments.of("oversize", new byte[SenderSet.MAX_ENCODED + 1], "oversize"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badSenderSets")
  void senderSetNegativeVectors(String name, byte[] input, String code) {
    assertThatThrownBy(() -> SenderSet.parse(input))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void sealedSenderSetNegativeVectors() {
    byte[] good = HEX.parseHex(SEALED_SENDER_SET);
    for (int i = 0; i < good.length; i += 7) {
      byte[] flipped = good.clone();
      flipped[i] ^= 0x01;
      assertThatThrownBy(() -> SealedSenderSet.open(SenderGolden.KEY_SET, flipped))
          .isInstanceOf(MalformedInputException.class);
    }
    assertThatThrownBy(
            () ->
                SealedSenderSet.open(KeySetVectors.keySet(KeySetVectors.OTHER_KEY_SET_SEED), good))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(
            () -> SealedSenderSet.open(SenderGolden.KEY_SET, Arrays.copyOf(good, good.length - 1)))
        .isInstanceOf(MalformedInputException.class);
  }

  @Test
  void sendStatementNegativeVectors() {
    byte[] sig = HEX.parseHex(SEND_SIGNATURE);
    SendStatement s = SenderGolden.STATEMENT;
    List<SendStatement> others =
        List.of(
            new SendStatement(
                KeySetVectors.keySet(KeySetVectors.OTHER_KEY_SET_SEED).id(),
                s.policySha256(),
                s.payloadSha256(),
                s.sendId(),
                s.timestamp(),
                s.sender()),
            new SendStatement(
                s.keySetId(),
                s.payloadSha256(),
                s.payloadSha256(),
                s.sendId(),
                s.timestamp(),
                s.sender()),
            new SendStatement(
                s.keySetId(),
                s.policySha256(),
                s.policySha256(),
                s.sendId(),
                s.timestamp(),
                s.sender()),
            new SendStatement(
                s.keySetId(),
                s.policySha256(),
                s.payloadSha256(),
                "ffffffffffffffffffffffffffffffff",
                s.timestamp(),
                s.sender()),
            new SendStatement(
                s.keySetId(),
                s.policySha256(),
                s.payloadSha256(),
                s.sendId(),
                s.timestamp().plusSeconds(1),
                s.sender()),
            new SendStatement(
                s.keySetId(),
                s.policySha256(),
                s.payloadSha256(),
                s.sendId(),
                s.timestamp(),
                SenderGolden.OWNER.publicKey()));
    for (SendStatement other : others) {
      assertThat(other.verifies(sig)).as(other.toString()).isFalse();
    }
    assertThat(s.verifies(Arrays.copyOf(sig, 63))).isFalse();
    assertThat(s.verifies(null)).isFalse();
    // the owner's update signature is no send signature (domain separation)
    assertThat(s.verifies(HEX.parseHex(UPDATE_SIGNATURE))).isFalse();
    assertThatThrownBy(
            () ->
                new SendStatement(
                    s.keySetId(),
                    s.policySha256(),
                    s.payloadSha256(),
                    s.sendId(),
                    Instant.parse("2026-12-07T00:00:00.5Z"),
                    s.sender()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
