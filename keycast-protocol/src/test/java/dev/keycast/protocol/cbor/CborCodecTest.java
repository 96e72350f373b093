package dev.keycast.protocol.cbor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Known answers from RFC 8949 Appendix A (the subset Keycast uses) and every rejection. */
class CborCodecTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final CborReader.Options CANONICAL = CborReader.Options.CANONICAL;

  /** Like the attestation reader: indefinite containers and non-shortest arguments tolerated. */
  private static final CborReader.Options LENIENT = new CborReader.Options(true, true, 8, 1000);

  /** Like the NSM reader: non-shortest tolerated, indefinite lengths not. */
  private static final CborReader.Options DEFINITE = new CborReader.Options(false, true, 8, 256);

  private static byte[] h(String hex) {
    return HEX.parseHex(hex);
  }

  private static Map<Object, Object> map(Object... kv) {
    Map<Object, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  /** Decoded trees use Long for every integer. */
  private static Object normalize(Object v) {
    if (v instanceof Integer i) {
      return (long) i;
    }
    if (v instanceof List<?> l) {
      return l.stream().map(CborCodecTest::normalize).toList();
    }
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = new LinkedHashMap<>();
      m.forEach((k, e) -> out.put(normalize(k), normalize(e)));
      return out;
    }
    return v;
  }

  static Stream<Arguments> appendixA() {
    List<Object> oneTo25 = new ArrayList<>(LongStream.rangeClosed(1, 25).boxed().toList());
    return Stream.of(
        Arguments.of(0L, "00"),
        Arguments.of(1L, "01"),
        Arguments.of(10L, "0a"),
        Arguments.of(23L, "17"),
        Arguments.of(24L, "1818"),
        Arguments.of(25L, "1819"),
        Arguments.of(100L, "1864"),
        Arguments.of(1000L, "1903e8"),
        Arguments.of(1000000L, "1a000f4240"),
        Arguments.of(1000000000000L, "1b000000e8d4a51000"),
        Arguments.of(-1L, "20"),
        Arguments.of(-10L, "29"),
        Arguments.of(-100L, "3863"),
        Arguments.of(-1000L, "3903e7"),
        Arguments.of(Long.MAX_VALUE, "1b7fffffffffffffff"),
        Arguments.of(Long.MIN_VALUE, "3b7fffffffffffffff"),
        Arguments.of(false, "f4"),
        Arguments.of(true, "f5"),
        Arguments.of(CborNull.INSTANCE, "f6"),
        Arguments.of(new byte[0], "40"),
        Arguments.of(h("01020304"), "4401020304"),
        Arguments.of("", "60"),
        Arguments.of("a", "6161"),
        Arguments.of("IETF", "6449455446"),
        Arguments.of("\"\\", "62225c"),
        Arguments.of("\u00fc", "62c3bc"),
        Arguments.of("\u6c34", "63e6b0b4"),
        Arguments.of("\ud800\udd51", "64f0908591"),
        Arguments.of(List.of(), "80"),
        Arguments.of(List.of(1L, 2L, 3L), "83010203"),
        Arguments.of(List.of(1L, List.of(2L, 3L), List.of(4L, 5L)), "8301820203820405"),
        Arguments.of(oneTo25, "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
        Arguments.of(map(), "a0"),
        Arguments.of(map(1L, 2L, 3L, 4L), "a201020304"),
        Arguments.of(map("a", 1L, "b", List.of(2L, 3L)), "a26161016162820203"),
        Arguments.of(List.of("a", map("b", "c")), "826161a161626163"),
        Arguments.of(
            map("a", "A", "b", "B", "c", "C", "d", "D", "e", "E"),
            "a56161614161626142616361436164614461656145"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("appendixA")
  void writerAndCanonicalReaderAgreeWithAppendixA(Object value, String hex) throws Exception {
    CborWriter w = new CborWriter(1);
    CborTrees.write(w, value);
    assertThat(HEX.formatHex(w.toByteArray())).isEqualTo(hex);
    for (CborReader.Options o : List.of(CANONICAL, LENIENT, DEFINITE)) {
      assertThat(CborReader.decode(h(hex), o)).isEqualTo(normalize(value));
    }
  }

  static Stream<Arguments> indefiniteAppendixA() {
    return Stream.of(
        Arguments.of("9fff", List.of()),
        Arguments.of("9f018202039f0405ffff", List.of(1L, List.of(2L, 3L), List.of(4L, 5L))),
        Arguments.of("9f01820203820405ff", List.of(1L, List.of(2L, 3L), List.of(4L, 5L))),
        Arguments.of("83018202039f0405ff", List.of(1L, List.of(2L, 3L), List.of(4L, 5L))),
        Arguments.of("bf61610161629f0203ffff", map("a", 1L, "b", List.of(2L, 3L))),
        Arguments.of("826161bf61626163ff", List.of("a", map("b", "c"))),
        Arguments.of("bf6346756ef563416d7421ff", map("Fun", true, "Amt", -2L)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("indefiniteAppendixA")
  void indefiniteContainersOnlyWhenAllowed(String hex, Object expected) {
    assertThat(catchValue(hex, LENIENT)).isEqualTo(expected);
    assertThat(code(hex, CANONICAL)).isEqualTo("non_canonical");
    assertThat(code(hex, DEFINITE)).isEqualTo("malformed");
  }

  static Stream<Arguments> nonShortest() {
    return Stream.of(
        Arguments.of("1801", 1L),
        Arguments.of("190017", 23L),
        Arguments.of("1a000000ff", 255L),
        Arguments.of("1b00000000ffffffff", 0xffffffffL),
        Arguments.of("3800", -1L),
        Arguments.of("780161", "a"),
        Arguments.of("58020102", h("0102")),
        Arguments.of("980101", List.of(1L)),
        Arguments.of("b900010102", map(1L, 2L)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("nonShortest")
  void nonShortestArgumentsOnlyWhenAllowed(String hex, Object expected) {
    assertThat(catchValue(hex, LENIENT)).isEqualTo(expected);
    assertThat(catchValue(hex, DEFINITE)).isEqualTo(expected);
    assertThat(code(hex, CANONICAL)).isEqualTo("non_canonical");
  }

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of("empty input", "", "truncated"),
        Arguments.of("uint16 cut short", "1903", "truncated"),
        Arguments.of("byte string longer than the input", "4401", "truncated"),
        Arguments.of("2^31-1 byte string in 5 bytes", "5a7fffffff", "truncated"),
        Arguments.of("byte string above 2^31-1", "5a80000000", "oversize"),
        Arguments.of("byte string of 2^64-1", "5bffffffffffffffff", "oversize"),
        Arguments.of("array count beyond the input", "9818", "truncated"),
        Arguments.of("map count beyond the input", "a201020304".substring(0, 8), "truncated"),
        Arguments.of("array above the entry cap", "9903e9" + "00".repeat(1001), "oversize"),
        Arguments.of("uint above 2^63-1 in a tree", "1b8000000000000000", "oversize"),
        Arguments.of("nint below -2^63 in a tree", "3b8000000000000000", "oversize"),
        Arguments.of("reserved additional information 28", "1c", "malformed"),
        Arguments.of("reserved additional information 30", "5e", "malformed"),
        Arguments.of("stray break", "ff", "malformed"),
        Arguments.of("indefinite byte string", "5f42010243030405ff", "malformed"),
        Arguments.of("indefinite text string", "7f657374726561646d696e67ff", "malformed"),
        Arguments.of("tag", "c11a514b67b0", "malformed"),
        Arguments.of("half float", "f93c00", "malformed"),
        Arguments.of("undefined", "f7", "malformed"),
        Arguments.of("invalid UTF-8", "62c328", "malformed"),
        Arguments.of("duplicate integer key", "a201020103", "malformed"),
        Arguments.of("duplicate text key", "a2616101616102", "malformed"),
        Arguments.of("byte-string key", "a1410101", "malformed"),
        Arguments.of("trailing byte", "0000", "malformed"),
        Arguments.of("nested deeper than 8", "81".repeat(9) + "00", "oversize"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void treeReaderRejects(String name, String hex, String expected) {
    assertThat(code(hex, LENIENT)).isEqualTo(expected);
  }

  @Test
  void depthLimitIsExact() throws Exception {
    assertThat(CborReader.decode(h("81".repeat(8) + "00"), LENIENT)).isNotNull();
    assertThat(code("81".repeat(9) + "00", LENIENT)).isEqualTo("oversize");
    CborReader.Options shallow = LENIENT.withMaxDepth(3);
    new CborReader(h("818181" + "80"), shallow).skip("x");
    assertThatThrownBy(() -> new CborReader(h("81818181" + "80"), shallow).skip("x"))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("oversize"));
  }

  @Test
  void skipConsumesOneItemAndRejectsDuplicateKeys() throws Exception {
    CborReader r =
        new CborReader(h("bf61610161629f0203ffff" + "c11a514b67b0" + "f93c00" + "01"), LENIENT);
    r.skip("map");
    r.skip("tag");
    r.skip("float");
    assertThat(r.readUint("last")).isEqualTo(1);
    r.requireEnd("test");
    assertThatThrownBy(() -> new CborReader(h("a2616101616102"), LENIENT).skip("m"))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("malformed"));
  }

  @Test
  void pullReaderCapsAndTypes() throws Exception {
    assertThat(pullCode(r -> r.readBytes("b", 0, 3), "4401020304")).isEqualTo("oversize");
    assertThat(pullCode(r -> r.readBytes("b", 5, 9), "4401020304")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readBytesExact("b", 3), "4401020304")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readBytesExact("b", 4), "44010203")).isEqualTo("truncated");
    assertThat(pullCode(r -> r.readText("t", 0, 3), "6449455446")).isEqualTo("oversize");
    assertThat(pullCode(r -> r.readText("t", 0, 9), "4449455446")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readUint("u"), "1bffffffffffffffff")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readInt("i"), "3bffffffffffffffff")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readArrayHeader("a", 2), "83010203")).isEqualTo("oversize");
    assertThat(pullCode(r -> r.readMapHeader("m", 9), "83010203")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readKey("ks", 16), "6276")).isEqualTo("truncated");
    assertThat(pullCode(r -> r.readKey("ks", 16), "6176")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readNull("n"), "f5")).isEqualTo("malformed");
    assertThat(pullCode(r -> r.readBreak("b"), "00")).isEqualTo("malformed");
    CborReader r = new CborReader(h("d2" + "4401020304" + "f6" + "ff"), CANONICAL);
    assertThat(r.readOptionalTag("t")).isEqualTo(18);
    assertThat(r.readOptionalTag("t")).isEqualTo(-1);
    int[] span = r.readBytesRange("b", 4, 4);
    assertThat(r.hex(span[0], span[1])).isEqualTo("01020304");
    assertThat(r.peekNull()).isTrue();
    r.readNull("n");
    assertThat(r.peekBreak()).isTrue();
    r.readBreak("b");
    assertThat(r.atEnd()).isTrue();
  }

  @Test
  void writerUsesShortestHeadsAtEveryBoundary() {
    long[] values = {
      23, 24, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffL, 0x100000000L, Long.MAX_VALUE
    };
    String[] heads = {
      "17",
      "1818",
      "18ff",
      "190100",
      "19ffff",
      "1a00010000",
      "1affffffff",
      "1b0000000100000000",
      "1b7fffffffffffffff"
    };
    for (int i = 0; i < values.length; i++) {
      assertThat(HEX.formatHex(new CborWriter().uint(values[i]).toByteArray())).isEqualTo(heads[i]);
    }
    assertThat(HEX.formatHex(new CborWriter().uint64Fixed(1).toByteArray()))
        .isEqualTo("1b0000000000000001");
    assertThat(
            HEX.formatHex(
                new CborWriter()
                    .tag(18)
                    .negint(-35)
                    .hexBytes("ABcd")
                    .bytesOrNull(null)
                    .toByteArray()))
        .isEqualTo("d2382242abcdf6");
    assertThatThrownBy(() -> new CborWriter().uint(-1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new CborWriter().negint(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new CborWriter().array(-1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new CborWriter().hexBytes("0g"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void deterministicMapSortsKeysAsRfc8949Section421() {
    // The example order from RFC 8949 section 4.2.1: 10, 100, -1, "z", "aa", [100], [-1], false.
    List<String> keys = List.of("0a", "1864", "20", "617a", "626161", "811864", "8120", "f4");
    List<Map.Entry<byte[], byte[]>> entries = new ArrayList<>();
    IntStream.range(0, keys.size())
        .forEach(i -> entries.add(Map.entry(h(keys.get(i)), new byte[] {(byte) i})));
    Collections.reverse(entries);
    String out = HEX.formatHex(new CborWriter().deterministicMap(entries).toByteArray());
    assertThat(out)
        .isEqualTo(
            "a8"
                + "0a00"
                + "186401"
                + "2002"
                + "617a03"
                + "62616104"
                + "81186405"
                + "812006"
                + "f407");
    entries.add(Map.entry(h("0a"), h("00")));
    assertThatThrownBy(() -> new CborWriter().deterministicMap(entries))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void writerGrowsFromTheSmallestBuffer() throws Exception {
    byte[] big = new byte[100_000];
    big[99_999] = 7;
    byte[] out = new CborWriter(0).bytes(big).toByteArray();
    assertThat(new CborReader(out, CANONICAL).readBytes("b", 0, big.length)).isEqualTo(big);
  }

  private interface Pull {
    void read(CborReader r) throws MalformedInputException;
  }

  private static String pullCode(Pull p, String hex) {
    try {
      p.read(new CborReader(h(hex), CANONICAL));
      return "accepted";
    } catch (MalformedInputException e) {
      assertThat(e.getMessage()).isNotBlank();
      return e.code();
    }
  }

  private static Object catchValue(String hex, CborReader.Options o) {
    try {
      return CborReader.decode(h(hex), o);
    } catch (MalformedInputException e) {
      throw new AssertionError(hex + ": " + e.getMessage(), e);
    }
  }

  private static String code(String hex, CborReader.Options o) {
    try {
      CborReader.decode(h(hex), o);
      return "accepted";
    } catch (MalformedInputException e) {
      assertThat(e.getMessage()).isNotBlank();
      return e.code();
    }
  }
}
