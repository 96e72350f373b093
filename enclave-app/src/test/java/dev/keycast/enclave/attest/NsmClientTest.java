package dev.keycast.enclave.attest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborWriter;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class NsmClientTest {
  private static final HexFormat HEX = HexFormat.of();

  interface Call {
    void run(NsmClient c) throws Exception;
  }

  /** Request bytes from NITRO-FACTS 1.2 (serde_cbor encoding of nsm-api's Request enum). */
  static Stream<Arguments> requestVectors() {
    byte[] fortyEight = new byte[48];
    return Stream.of(
        Arguments.of(
            "GetRandom",
            "6947657452616e646f6d",
            (Call) NsmClient::getRandom,
            ok("GetRandom", w -> w.map(1).text("random").bytes(new byte[32]))),
        Arguments.of(
            "DescribeNSM",
            "6b44657363726962654e534d",
            (Call) NsmClient::describeNsm,
            describeNsmResponse()),
        Arguments.of(
            "DescribePCR(16)",
            "a16b4465736372696265504352a165696e64657810",
            (Call) c -> c.describePcr(16),
            ok(
                "DescribePCR",
                w -> w.map(2).text("lock").bool(false).text("data").bytes(fortyEight))),
        Arguments.of(
            "Attestation(null,null,null)",
            "a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365f66a7075626c69635f6b6579f6",
            (Call) c -> c.attestation(null, null, null),
            ok("Attestation", w -> w.map(1).text("document").bytes(new byte[] {1, 2, 3}))),
        Arguments.of(
            "Attestation(010203,empty,ff)",
            "a16b4174746573746174696f6ea3"
                + "69757365725f64617461"
                + "43010203"
                + "656e6f6e6365"
                + "40"
                + "6a7075626c69635f6b6579"
                + "41ff",
            (Call) c -> c.attestation(new byte[] {1, 2, 3}, new byte[0], new byte[] {(byte) 0xff}),
            ok("Attestation", w -> w.map(1).text("document").bytes(new byte[] {1, 2, 3}))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("requestVectors")
  void requestBytesMatchNitroFacts(String name, String hex, Call call, byte[] response)
      throws Exception {
    FakeNsmDevice device = new FakeNsmDevice().answer(response);
    call.run(new NsmClient(device));
    assertThat(device.requests).hasSize(1);
    assertThat(HEX.formatHex(device.requests.get(0))).isEqualTo(hex);
  }

  @Test
  void getRandomReturnsTheBytes() throws Exception {
    byte[] r = new byte[256];
    new Random(1).nextBytes(r);
    // the kernel's parse_resp_get_random checks exactly this prefix: A1 69 "GetRandom" A1 66
    // "random"
    byte[] response = ok("GetRandom", w -> w.map(1).text("random").bytes(r));
    assertThat(HEX.formatHex(response)).startsWith("a16947657452616e646f6da16672616e646f6d5901");
    assertThat(new NsmClient(new FakeNsmDevice().answer(response)).getRandom()).isEqualTo(r);
  }

  @Test
  void getRandomRejectsMoreThan256Bytes() {
    byte[] response = ok("GetRandom", w -> w.map(1).text("random").bytes(new byte[257]));
    assertMalformed(c -> c.getRandom(), response, "oversize");
  }

  @Test
  void describePcrParses() throws Exception {
    byte[] data = new byte[48];
    data[0] = 7;
    byte[] response =
        ok("DescribePCR", w -> w.map(2).text("lock").bool(true).text("data").bytes(data));
    NsmClient.PcrDescription d = new NsmClient(new FakeNsmDevice().answer(response)).describePcr(3);
    assertThat(d.locked()).isTrue();
    assertThat(d.data()).isEqualTo(data);
  }

  @Test
  void describePcrRejectsOddLength() {
    byte[] response =
        ok("DescribePCR", w -> w.map(2).text("lock").bool(true).text("data").bytes(new byte[47]));
    assertMalformed(c -> c.describePcr(0), response, "malformed");
  }

  @Test
  void describePcrRejectsIndexOutsideU16() {
    FakeNsmDevice device = new FakeNsmDevice();
    assertThatThrownBy(() -> new NsmClient(device).describePcr(65536))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(device.requests).isEmpty();
  }

  @Test
  void describeNsmParses() throws Exception {
    NsmClient.NsmDescription d =
        new NsmClient(new FakeNsmDevice().answer(describeNsmResponse())).describeNsm();
    assertThat(d)
        .isEqualTo(
            new NsmClient.NsmDescription(
                1,
                0,
                2,
                "i-0a22e5c5f24d22174-enc0191cceb4289903f",
                32,
                List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                "SHA384"));
  }

  @Test
  void attestationReturnsTheDocument() throws Exception {
    byte[] doc = new byte[5000];
    new Random(2).nextBytes(doc);
    byte[] response = ok("Attestation", w -> w.map(1).text("document").bytes(doc));
    assertThat(
            new NsmClient(new FakeNsmDevice().answer(response))
                .attestation(null, new byte[16], null))
        .isEqualTo(doc);
  }

  @ParameterizedTest
  @EnumSource(NsmErrorCode.class)
  void errorAnswersBecomeTypedExceptions(NsmErrorCode code) {
    byte[] response = new CborWriter().map(1).text("Error").text(code.wireName()).toByteArray();
    Throwable t =
        catchThrowable(() -> new NsmClient(new FakeNsmDevice().answer(response)).describePcr(40));
    assertThat(t).isInstanceOf(NsmException.class).hasMessageContaining(code.wireName());
    assertThat(((NsmException) t).code()).isEqualTo(code);
  }

  @Test
  void fieldLimitsAreCheckedBeforeSending() throws Exception {
    FakeNsmDevice device = new FakeNsmDevice();
    NsmClient client = new NsmClient(device);
    byte[] big = new byte[NsmClient.MAX_ATTESTATION_FIELD_BYTES + 1];
    assertThatThrownBy(() -> client.attestation(big, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("user_data");
    assertThatThrownBy(() -> client.attestation(null, big, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nonce");
    assertThatThrownBy(() -> client.attestation(null, null, big))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("public_key");
    assertThat(device.requests).isEmpty();
    byte[] max = new byte[NsmClient.MAX_ATTESTATION_FIELD_BYTES];
    device.answer(ok("Attestation", w -> w.map(1).text("document").bytes(new byte[] {9})));
    client.attestation(max, max, max);
    assertThat(device.requests).hasSize(1);
    assertThat(device.requests.get(0).length).isLessThanOrEqualTo(NsmDevice.MAX_REQUEST_BYTES);
  }

  @Test
  void oversizedRequestIsRefusedBeforeTheCall() throws Exception {
    FakeNsmDevice device = new FakeNsmDevice().answer(new byte[] {0x60});
    NsmClient client = new NsmClient(device);
    Throwable t = catchThrowable(() -> client.send(new byte[NsmDevice.MAX_REQUEST_BYTES + 1]));
    assertThat(t).isInstanceOf(NsmException.class);
    assertThat(((NsmException) t).code()).isEqualTo(NsmErrorCode.INPUT_TOO_LARGE);
    assertThat(device.requests).isEmpty();
    client.send(new byte[NsmDevice.MAX_REQUEST_BYTES]);
    assertThat(device.requests).hasSize(1);
  }

  static Stream<Arguments> malformedResponses() {
    byte[] good = ok("GetRandom", w -> w.map(1).text("random").bytes(new byte[32]));
    byte[] trailing = Arrays.copyOf(good, good.length + 1);
    return Stream.of(
        Arguments.of("empty", new byte[0], "truncated"),
        Arguments.of("truncated", Arrays.copyOf(good, good.length - 1), "truncated"),
        Arguments.of("trailing byte", trailing, "malformed"),
        Arguments.of("bare string", new CborWriter().text("GetRandom").toByteArray(), "malformed"),
        Arguments.of(
            "wrong variant",
            ok("DescribeNSM", w -> w.map(1).text("random").bytes(new byte[32])),
            "malformed"),
        Arguments.of(
            "extra field",
            ok("GetRandom", w -> w.map(2).text("random").bytes(new byte[32]).text("x").uint(1)),
            "malformed"),
        Arguments.of("missing field", ok("GetRandom", w -> w.map(0)), "malformed"),
        Arguments.of(
            "text instead of bytes",
            ok("GetRandom", w -> w.map(1).text("random").text("abc")),
            "malformed"),
        Arguments.of(
            "null random", ok("GetRandom", w -> w.map(1).text("random").nullValue()), "malformed"),
        Arguments.of(
            "empty random",
            ok("GetRandom", w -> w.map(1).text("random").bytes(new byte[0])),
            "malformed"),
        Arguments.of(
            "2^64-1 byte string length",
            HEX.parseHex("a16947657452616e646f6da16672616e646f6d5bffffffffffffffff"),
            "oversize"),
        Arguments.of(
            "byte string longer than the rest",
            HEX.parseHex("a16947657452616e646f6da16672616e646f6d5a0000100001"),
            "truncated"),
        Arguments.of(
            "array longer than the rest",
            HEX.parseHex("a16947657452616e646f6da16672616e646f6d9818"),
            "truncated"),
        Arguments.of("huge map count", HEX.parseHex("bb7fffffffffffffff"), "oversize"),
        Arguments.of(
            "indefinite map",
            HEX.parseHex("bf6947657452616e646f6da16672616e646f6d4101ff"),
            "malformed"),
        Arguments.of(
            "tagged", HEX.parseHex("d818a16947657452616e646f6da16672616e646f6d4101"), "malformed"),
        Arguments.of("float", HEX.parseHex("f93c00"), "malformed"),
        Arguments.of(
            "duplicate key",
            HEX.parseHex("a16947657452616e646f6da26672616e646f6d41016672616e646f6d4102"),
            "malformed"),
        Arguments.of("invalid utf-8 key", HEX.parseHex("a162ff00a0"), "malformed"),
        Arguments.of(
            "unknown error code",
            new CborWriter().map(1).text("Error").text("Oops").toByteArray(),
            "malformed"),
        Arguments.of(
            "error not text",
            new CborWriter().map(1).text("Error").uint(3).toByteArray(),
            "malformed"),
        Arguments.of("deep nesting", HEX.parseHex("81".repeat(20) + "00"), "oversize"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedResponses")
  void malformedResponsesAreTypedErrors(String name, byte[] response, String code) {
    assertMalformed(NsmClient::getRandom, response, code);
  }

  @Test
  void randomMutationsOnlyEverYieldTypedErrors() {
    List<byte[]> seeds =
        List.of(
            describeNsmResponse(),
            ok(
                "DescribePCR",
                w -> w.map(2).text("lock").bool(true).text("data").bytes(new byte[48])),
            ok("Attestation", w -> w.map(1).text("document").bytes(new byte[300])));
    List<Call> calls =
        List.of(
            NsmClient::describeNsm, c -> c.describePcr(1), c -> c.attestation(null, null, null));
    Random random = new Random(42);
    int typed = 0;
    for (int i = 0; i < 20_000; i++) {
      int k = i % seeds.size();
      byte[] m = seeds.get(k).clone();
      int flips = 1 + random.nextInt(3);
      for (int f = 0; f < flips; f++) {
        m[random.nextInt(m.length)] = (byte) random.nextInt(256);
      }
      if (random.nextInt(4) == 0) {
        m = Arrays.copyOf(m, random.nextInt(m.length));
      }
      byte[] mutated = m;
      Throwable t =
          catchThrowable(
              () -> calls.get(k).run(new NsmClient(new FakeNsmDevice().answer(mutated))));
      if (t != null) {
        assertThat(t).isInstanceOfAny(MalformedInputException.class, NsmException.class);
        typed++;
      }
    }
    assertThat(typed).isGreaterThan(10_000);
  }

  private static void assertMalformed(Call call, byte[] response, String code) {
    Throwable t =
        catchThrowable(() -> call.run(new NsmClient(new FakeNsmDevice().answer(response))));
    assertThat(t).isInstanceOf(MalformedInputException.class);
    assertThat(((MalformedInputException) t).code()).isEqualTo(code);
  }

  interface Body {
    void write(CborWriter w);
  }

  static byte[] ok(String variant, Body body) {
    CborWriter w = new CborWriter().map(1).text(variant);
    body.write(w);
    return w.toByteArray();
  }

  static byte[] describeNsmResponse() {
    return ok(
        "DescribeNSM",
        w -> {
          w.map(7)
              .text("version_major")
              .uint(1)
              .text("version_minor")
              .uint(0)
              .text("version_patch")
              .uint(2)
              .text("module_id")
              .text("i-0a22e5c5f24d22174-enc0191cceb4289903f")
              .text("max_pcrs")
              .uint(32)
              .text("locked_pcrs")
              .array(16);
          for (int i = 0; i < 16; i++) {
            w.uint(i);
          }
          w.text("digest").text("SHA384");
        });
  }
}
