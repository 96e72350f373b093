package dev.keycast.protocol.wycheproof;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reader of Project Wycheproof vector files ({@code src/test-vectors/wycheproof}, Apache 2.0,
 * C2SP/wycheproof {@code testvectors_v1}): {@code testGroups[].tests[]}, each test with a
 * {@code result} of {@code valid}, {@code invalid} or {@code acceptable} and {@code flags} naming
 * the edge case.
 */
public final class Wycheproof {
  private static final HexFormat HEX = HexFormat.of();

  private Wycheproof() {}

  /** A vector's expected outcome. */
  public enum Result {
    VALID,
    INVALID,
    ACCEPTABLE
  }

  /** One test of one group: the group's fields are reachable through {@link #group()}. */
  public record Vector(String file, JsonNode group, JsonNode test) {
    public int tcId() {
      return test.get("tcId").asInt();
    }

    public Result result() {
      return Result.valueOf(test.get("result").asText().toUpperCase(java.util.Locale.ROOT));
    }

    public Set<String> flags() {
      Set<String> f = new TreeSet<>();
      test.path("flags").forEach(n -> f.add(n.asText()));
      return f;
    }

    public boolean hasFlag(String flag) {
      return flags().contains(flag);
    }

    /** A hex field of the test. */
    public byte[] hex(String field) {
      JsonNode n = test.get(field);
      if (n == null) {
        throw new IllegalArgumentException(file + " tcId " + tcId() + " lacks " + field);
      }
      return HEX.parseHex(n.asText());
    }

    /** A hex field of the group. */
    public byte[] groupHex(String field) {
      return HEX.parseHex(group.get(field).asText());
    }

    public String groupText(String field) {
      return group.get(field).asText();
    }

    @Override
    public String toString() {
      return file
          + " #"
          + tcId()
          + " "
          + result().name().toLowerCase(java.util.Locale.ROOT)
          + " "
          + flags()
          + " "
          + test.path("comment").asText();
    }
  }

  /** The folder of the vector files: {@code <keycast.vectors>/wycheproof}. */
  public static Path directory() {
    String dir = System.getProperty("keycast.vectors");
    if (dir == null) {
      throw new IllegalStateException("system property keycast.vectors is not set");
    }
    return Path.of(dir, "wycheproof");
  }

  /** Every test of {@code file} (e.g. {@code "x25519_test.json"}), in file order. */
  public static List<Vector> load(String file) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(directory().resolve(file).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<Vector> out = new ArrayList<>();
    for (JsonNode g : root.get("testGroups")) {
      for (JsonNode t : g.get("tests")) {
        out.add(new Vector(file, g, t));
      }
    }
    if (out.size() != root.get("numberOfTests").asInt()) {
      throw new IllegalStateException(
          file + ": " + out.size() + " tests, header says " + root.get("numberOfTests").asInt());
    }
    return out;
  }
}
