package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.MalformedInputException.Kind;
import dev.keycast.protocol.cbor.CborWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The attestation formats' limits and structure at their exact edges (COSE_Sign1, the payload, the
 * expected-PCRs file, trust roots, the policy builder): each limit holds at its value and refuses
 * one more, each required member is required, each indefinite container is read to its end.
 */
class AttestationFormatEdgesTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final TestAttester ATTESTER =
      new TestAttester(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));

  private static Kind kind(Executable e) {
    MalformedInputException x =
        catchThrowableOfType(MalformedInputException.class, () -> e.execute());
    return x == null ? null : x.kind();
  }

  private static MalformedInputException malformed(Executable e) {
    MalformedInputException x =
        catchThrowableOfType(MalformedInputException.class, () -> e.execute());
    assertThat(x).as("accepted").isNotNull();
    return x;
  }

  /** A payload map of the given members, in order. */
  private static byte[] payload(Map<String, Consumer<CborWriter>> members) {
    CborWriter w = new CborWriter().map(members.size());
    members.forEach(
        (k, v) -> {
          w.text(k);
          v.accept(w);
        });
    return w.toByteArray();
  }

  private static LinkedHashMap<String, Consumer<CborWriter>> required() {
    LinkedHashMap<String, Consumer<CborWriter>> m = new LinkedHashMap<>();
    m.put("module_id", w -> w.text("i-0"));
    m.put("digest", w -> w.text("SHA384"));
    m.put("timestamp", w -> w.uint(1_772_366_400_000L));
    m.put("pcrs", w -> w.map(1).uint(0).bytes(new byte[48]));
    m.put("certificate", w -> w.bytes(new byte[] {1}));
    m.put("cabundle", w -> w.array(1).bytes(new byte[] {2}));
    return m;
  }

  @Test
  void eachRequiredPayloadMemberIsRequired() throws Exception {
    assertThat(AttestationParser.parsePayload(payload(required())).moduleId()).isEqualTo("i-0");
    for (String key : required().keySet()) {
      LinkedHashMap<String, Consumer<CborWriter>> m = required();
      m.remove(key);
      MalformedInputException e = malformed(() -> AttestationParser.parsePayload(payload(m)));
      assertThat(e.kind()).isEqualTo(Kind.MALFORMED);
      assertThat(e.getMessage()).contains("missing \"" + key + "\"");
    }
  }

  @Test
  void aPayloadOfExactlyTheMessageLimitIsNotRefusedForItsSize() {
    assertThat(kind(() -> AttestationParser.parsePayload(new byte[CoseSign1.MAX_MESSAGE_BYTES])))
        .isEqualTo(Kind.MALFORMED);
    assertThat(
            kind(() -> AttestationParser.parsePayload(new byte[CoseSign1.MAX_MESSAGE_BYTES + 1])))
        .isEqualTo(Kind.OVERSIZE);
  }

  @Test
  void anIndefinitePayloadMapCannotSmuggleATenthMember() {
    CborWriter w = new CborWriter().rawByte(0xbf);
    required().forEach((k, v) -> v.accept(w.text(k)));
    w.text("nonce").nullValue().text("user_data").nullValue().text("public_key").nullValue();
    w.text("nonce").nullValue().rawByte(0xff);
    MalformedInputException e = malformed(() -> AttestationParser.parsePayload(w.toByteArray()));
    assertThat(e.kind()).isEqualTo(Kind.OVERSIZE);
  }

  @Test
  void indefiniteCabundleAndPcrsAreReadToTheirBreakAndCapped() throws Exception {
    for (int n : new int[] {1, AttestationParser.MAX_CABUNDLE_ENTRIES}) {
      LinkedHashMap<String, Consumer<CborWriter>> m = required();
      m.put("cabundle", w -> indefiniteArray(w, n));
      assertThat(AttestationParser.parsePayload(payload(m)).cabundle()).hasSize(n);
    }
    LinkedHashMap<String, Consumer<CborWriter>> tooMany = required();
    tooMany.put("cabundle", w -> indefiniteArray(w, AttestationParser.MAX_CABUNDLE_ENTRIES + 1));
    assertThat(kind(() -> AttestationParser.parsePayload(payload(tooMany))))
        .isEqualTo(Kind.OVERSIZE);
    for (int n : new int[] {1, AttestationParser.MAX_PCRS}) {
      LinkedHashMap<String, Consumer<CborWriter>> m = required();
      m.put("pcrs", w -> indefinitePcrs(w, n));
      assertThat(AttestationParser.parsePayload(payload(m)).pcrs()).hasSize(n);
    }
    LinkedHashMap<String, Consumer<CborWriter>> tooManyPcrs = required();
    tooManyPcrs.put("pcrs", w -> indefinitePcrs(w, AttestationParser.MAX_PCRS + 1));
    assertThat(kind(() -> AttestationParser.parsePayload(payload(tooManyPcrs))))
        .isEqualTo(Kind.OVERSIZE);
  }

  private static void indefiniteArray(CborWriter w, int n) {
    w.rawByte(0x9f);
    for (int i = 0; i < n; i++) {
      w.bytes(new byte[] {(byte) i});
    }
    w.rawByte(0xff);
  }

  /** PCRs 0..n-1, and index 0 again past 32 (the cap must come first). */
  private static void indefinitePcrs(CborWriter w, int n) {
    w.rawByte(0xbf);
    for (int i = 0; i < n; i++) {
      w.uint(i % AttestationParser.MAX_PCRS).bytes(new byte[48]);
    }
    w.rawByte(0xff);
  }

  @Test
  void anUnknownKeyIsQuotedWithItsControlCharactersEscaped() {
    LinkedHashMap<String, Consumer<CborWriter>> m = new LinkedHashMap<>();
    m.put("x ~\u001f\u007f", CborWriter::nullValue);
    MalformedInputException e = malformed(() -> AttestationParser.parsePayload(payload(m)));
    assertThat(e.getMessage()).contains("unknown key \"x ~\\u001f\\u007f\"");
  }

  @Test
  void aCoseMessageOfExactlyTheLimitDecodesAndOneByteMoreDoesNot() throws Exception {
    byte[] prot = CoseSign1.es384ProtectedHeader();
    int overhead =
        CoseSign1.encode(prot, new byte[] {(byte) 0xa0}, new byte[1000], new byte[96]).length
            - 1000;
    byte[] exact =
        CoseSign1.encode(
            prot,
            new byte[] {(byte) 0xa0},
            new byte[CoseSign1.MAX_MESSAGE_BYTES - overhead],
            new byte[96]);
    assertThat(exact).hasSize(CoseSign1.MAX_MESSAGE_BYTES);
    assertThat(CoseSign1.decode(exact).payload()).hasSize(CoseSign1.MAX_MESSAGE_BYTES - overhead);
    byte[] over =
        CoseSign1.encode(
            prot,
            new byte[] {(byte) 0xa0},
            new byte[CoseSign1.MAX_MESSAGE_BYTES - overhead + 1],
            new byte[96]);
    assertThat(kind(() -> CoseSign1.decode(over))).isEqualTo(Kind.OVERSIZE);
  }

  @Test
  void coseTaggingIsReportedAndANullUnprotectedHeaderIsNamed() throws Exception {
    byte[] doc = ATTESTER.doc(NOW).encode();
    byte[] tagged = ATTESTER.doc(NOW).tagged().encode();
    assertThat(CoseSign1.decode(doc).tagged()).isFalse();
    assertThat(CoseSign1.decode(tagged).tagged()).isTrue();
    assertThat(CoseSign1.decode(doc)).isNotEqualTo(CoseSign1.decode(tagged));
    assertThat(CoseSign1.decode(doc)).isEqualTo(CoseSign1.decode(doc));
    byte[] nullHeader =
        new CborWriter()
            .array(4)
            .bytes(CoseSign1.es384ProtectedHeader())
            .nullValue()
            .bytes(new byte[] {1})
            .bytes(new byte[] {2})
            .toByteArray();
    assertThat(malformed(() -> CoseSign1.decode(nullHeader)).getMessage())
        .contains("must be a map (found ")
        .contains(" null)");
  }

  @Test
  void anIndefiniteProtectedHeaderIsReadToItsBreakAndNothingMayFollow() throws Exception {
    byte[] cose = coseWith(new CborWriter().rawByte(0xbf).integer(1).integer(-35).rawByte(0xff));
    assertThat(CoseSign1.decode(cose).algorithm()).isEqualTo("ES384");
    byte[] trailing = coseWith(new CborWriter().map(1).integer(1).integer(-35).rawByte(0x00));
    assertThat(kind(() -> CoseSign1.decode(trailing))).isEqualTo(Kind.MALFORMED);
    byte[] duplicate =
        coseWith(
            new CborWriter()
                .rawByte(0xbf)
                .integer(1)
                .integer(-35)
                .integer(1)
                .integer(-35)
                .rawByte(0xff));
    assertThat(malformed(() -> CoseSign1.decode(duplicate)).getMessage()).contains("duplicate alg");
  }

  private static byte[] coseWith(CborWriter protectedHeader) {
    return CoseSign1.encode(
        protectedHeader.toByteArray(), new byte[] {(byte) 0xa0}, new byte[] {1}, new byte[96]);
  }

  private static String pcrSets(int n) {
    List<String> sets = new ArrayList<>();
    String hex = "ab".repeat(48);
    for (int i = 0; i < n; i++) {
      sets.add("{\"PCR0\":\"" + hex + "\",\"PCR1\":\"" + hex + "\",\"PCR2\":\"" + hex + "\"}");
    }
    return "{\"version\":1,\"allowed\":[" + String.join(",", sets) + "]}";
  }

  @Test
  void expectedPcrsTakeAtMostSixtyFourSets() throws Exception {
    byte[] max = pcrSets(ExpectedPcrs.MAX_SETS).getBytes(StandardCharsets.US_ASCII);
    assertThat(ExpectedPcrs.parseJson(max).sets()).hasSize(ExpectedPcrs.MAX_SETS);
    byte[] over = pcrSets(ExpectedPcrs.MAX_SETS + 1).getBytes(StandardCharsets.US_ASCII);
    assertThat(kind(() -> ExpectedPcrs.parseJson(over))).isEqualTo(Kind.OVERSIZE);
    List<Map<Integer, byte[]>> sets = new ArrayList<>();
    for (int i = 0; i < ExpectedPcrs.MAX_SETS; i++) {
      sets.add(Map.of(0, new byte[48], 1, new byte[48], 2, new byte[48]));
    }
    assertThat(ExpectedPcrs.of(sets).sets()).hasSize(ExpectedPcrs.MAX_SETS);
    sets.add(Map.of(0, new byte[48], 1, new byte[48], 2, new byte[48]));
    assertThatThrownBy(() -> ExpectedPcrs.of(sets)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void expectedPcrsFilesOfExactlyTheLimitAreRead() throws Exception {
    String json = pcrSets(1);
    byte[] exact =
        (json + " ".repeat(ExpectedPcrs.MAX_FILE_BYTES - json.length()))
            .getBytes(StandardCharsets.US_ASCII);
    assertThat(exact).hasSize(ExpectedPcrs.MAX_FILE_BYTES);
    assertThat(ExpectedPcrs.parseJson(exact).sets()).hasSize(1);
    assertThat(ExpectedPcrs.kmsKeyArn(exact)).isEmpty();
    byte[] over = (json + " ".repeat(ExpectedPcrs.MAX_FILE_BYTES - json.length() + 1)).getBytes();
    assertThat(kind(() -> ExpectedPcrs.parseJson(over))).isEqualTo(Kind.OVERSIZE);
    assertThat(kind(() -> ExpectedPcrs.kmsKeyArn(over))).isEqualTo(Kind.OVERSIZE);
  }

  @Test
  void aVersionOneFileMayNameItsKmsKeyButNothingElse() throws Exception {
    String json = pcrSets(1);
    String arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    byte[] withArn =
        json.replace("{\"version\":1,", "{\"version\":1,\"kms_key_arn\":\"" + arn + "\",")
            .getBytes(StandardCharsets.US_ASCII);
    assertThat(ExpectedPcrs.parseJson(withArn).sets()).hasSize(1);
    assertThat(ExpectedPcrs.kmsKeyArn(withArn)).contains(arn);
    byte[] extra =
        json.replace("{\"version\":1,", "{\"version\":1,\"extra\":1,")
            .getBytes(StandardCharsets.US_ASCII);
    assertThat(malformed(() -> ExpectedPcrs.parseJson(extra)).getMessage())
        .contains("unknown key \"extra\"");
  }

  @Test
  void aBadPcrValueIsQuotedUpTo120Characters() {
    for (int len : new int[] {118, 119}) {
      String bad = "x".repeat(len);
      byte[] json =
          ("{\"version\":1,\"allowed\":[{\"PCR0\":\"" + bad + "\"}]}")
              .getBytes(StandardCharsets.US_ASCII);
      String quoted = ("\"" + bad + "\"");
      String expected = quoted.length() > 120 ? quoted.substring(0, 120) + "..." : quoted;
      assertThat(malformed(() -> ExpectedPcrs.parseJson(json)).getMessage())
          .endsWith("found " + expected);
    }
  }

  @Test
  void aTrustRootPemOfExactlyTheLimitIsRead() throws Exception {
    String pem =
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder().encodeToString(ATTESTER.root().getEncoded())
            + "\n-----END CERTIFICATE-----\n";
    int limit = 64 * 1024;
    byte[] exact = (pem + " ".repeat(limit - pem.length())).getBytes(StandardCharsets.US_ASCII);
    assertThat(TrustRoot.fromPem("r", exact).sha256()).isEqualTo(ATTESTER.trustRoot().sha256());
    byte[] over = (pem + " ".repeat(limit - pem.length() + 1)).getBytes(StandardCharsets.US_ASCII);
    assertThat(kind(() -> TrustRoot.fromPem("r", over))).isEqualTo(Kind.OVERSIZE);
  }

  @Test
  void nothingMayFollowThePayloadMap() throws Exception {
    byte[] good = payload(required());
    byte[] trailing = java.util.Arrays.copyOf(good, good.length + 1);
    assertThat(AttestationParser.parsePayload(good).moduleId()).isEqualTo("i-0");
    assertThat(kind(() -> AttestationParser.parsePayload(trailing))).isEqualTo(Kind.MALFORMED);
  }

  @Test
  void aCoseArrayOfAnotherShapeIsNamedInTheRefusal() {
    byte[] three =
        new CborWriter().array(3).bytes(new byte[0]).rawByte(0xa0).bytes(new byte[1]).toByteArray();
    assertThat(malformed(() -> CoseSign1.decode(three)).getMessage()).contains("found 3 elements");
    byte[] indefinite =
        new CborWriter()
            .rawByte(0x9f)
            .bytes(new byte[0])
            .rawByte(0xa0)
            .bytes(new byte[1])
            .bytes(new byte[1])
            .rawByte(0xff)
            .toByteArray();
    assertThat(malformed(() -> CoseSign1.decode(indefinite)).getMessage())
        .contains("found an indefinite array");
  }

  @Test
  void otherProtectedHeaderMembersAreSkippedWhateverTheirLabel() throws Exception {
    byte[] cose =
        coseWith(
            new CborWriter()
                .map(3)
                .integer(4)
                .bytes(new byte[] {1, 2})
                .text("x")
                .text("y")
                .integer(1)
                .integer(-35));
    assertThat(CoseSign1.decode(cose).algorithm()).isEqualTo("ES384");
  }
}
