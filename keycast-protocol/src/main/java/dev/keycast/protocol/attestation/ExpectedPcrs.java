package dev.keycast.protocol.attestation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.keycast.protocol.MalformedInputException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The PCR values a verifier accepts: a list of allowed sets (several sets allow an upgrade from one
 * image to the next). A document matches when, for at least one set, every PCR of the set equals
 * the document's PCR of the same index.
 *
 * <p>Each set MUST contain PCR0, PCR1 and PCR2, and MAY contain PCR3, PCR4 and PCR8; every value
 * is 48 bytes (SHA-384).
 */
public final class ExpectedPcrs {
  /** Indices every set must contain. */
  public static final Set<Integer> REQUIRED = Set.of(0, 1, 2);

  /** Indices a set may contain besides the required ones. */
  public static final Set<Integer> OPTIONAL = Set.of(3, 4, 8);

  /** Length of each PCR value in bytes (SHA-384). */
  public static final int PCR_BYTES = 48;

  /** Largest expected-PCRs file accepted, in bytes. */
  public static final int MAX_FILE_BYTES = 64 * 1024;

  /** Largest number of allowed sets. */
  public static final int MAX_SETS = 64;

  private final List<SortedMap<Integer, byte[]>> sets;

  private ExpectedPcrs(List<SortedMap<Integer, byte[]>> sets) {
    this.sets = sets;
  }

  /**
   * Builds the allowed sets. Each map is PCR index to 48-byte value.
   *
   * @throws IllegalArgumentException if a set lacks PCR0/1/2, has another index than 0, 1, 2, 3,
   *     4, 8, or a value that is not 48 bytes, or if there are no sets
   */
  public static ExpectedPcrs of(List<Map<Integer, byte[]>> allowed) {
    if (allowed.isEmpty() || allowed.size() > MAX_SETS) {
      throw new IllegalArgumentException(
          "between 1 and " + MAX_SETS + " allowed PCR sets are required");
    }
    List<SortedMap<Integer, byte[]>> out = new ArrayList<>();
    for (int i = 0; i < allowed.size(); i++) {
      Map<Integer, byte[]> set = allowed.get(i);
      TreeMap<Integer, byte[]> copy = new TreeMap<>();
      for (Map.Entry<Integer, byte[]> e : set.entrySet()) {
        int idx = e.getKey();
        if (!REQUIRED.contains(idx) && !OPTIONAL.contains(idx)) {
          throw new IllegalArgumentException(
              "allowed set "
                  + i
                  + ": PCR"
                  + idx
                  + " is not allowed in an expectation (use 0, 1, 2, 3, 4, 8)");
        }
        if (e.getValue().length != PCR_BYTES) {
          throw new IllegalArgumentException(
              "allowed set " + i + ": PCR" + idx + " is " + e.getValue().length + " bytes, not 48");
        }
        copy.put(idx, e.getValue().clone());
      }
      if (!copy.keySet().containsAll(REQUIRED)) {
        throw new IllegalArgumentException(
            "allowed set " + i + ": PCR0, PCR1 and PCR2 are required");
      }
      out.add(Collections.unmodifiableSortedMap(copy));
    }
    return new ExpectedPcrs(List.copyOf(out));
  }

  /** The allowed sets (copies). */
  public List<SortedMap<Integer, byte[]>> sets() {
    List<SortedMap<Integer, byte[]>> out = new ArrayList<>();
    for (SortedMap<Integer, byte[]> s : sets) {
      TreeMap<Integer, byte[]> c = new TreeMap<>();
      s.forEach((k, v) -> c.put(k, v.clone()));
      out.add(Collections.unmodifiableSortedMap(c));
    }
    return List.copyOf(out);
  }

  List<SortedMap<Integer, byte[]>> setsRef() {
    return sets;
  }

  /**
   * Parses an expected-PCRs file: Keycast's own {@code {"version":1,"allowed":[{"PCR0":"<96
   * hex>",...},...]}} or nitro-cli's build output {@code {"Measurements":{"HashAlgorithm":"Sha384
   * {...}","PCR0":...}}} (one allowed set; other keys of that output are ignored), or the
   * measurements file of {@code scripts/build-eif} and the mock attester {@code {"format":
   * "keycast-measurements/1", ..., "pcrs":{"PCR0":...}}} (one allowed set).
   */
  /** The {@code format} of the measurements file that {@code scripts/build-eif} writes. */
  public static final String MEASUREMENTS_FORMAT = "keycast-measurements/1";

  public static ExpectedPcrs parseJson(byte[] json) throws MalformedInputException {
    if (json.length > MAX_FILE_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "expected PCRs: " + json.length + " bytes exceed the limit of " + MAX_FILE_BYTES);
    }
    JsonNode root;
    try {
      root =
          JsonMapper.builder()
              .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
              .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
              .build()
              .readTree(json);
    } catch (JsonProcessingException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "expected PCRs: not JSON: " + e.getOriginalMessage(),
          e);
    } catch (IOException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "expected PCRs: not JSON", e);
    }
    if (root == null || !root.isObject()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "expected PCRs: top level must be a JSON object");
    }
    List<Map<Integer, byte[]>> sets = new ArrayList<>();
    if (root.has("Measurements")) {
      JsonNode m = root.get("Measurements");
      if (!m.isObject()) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "expected PCRs: \"Measurements\" must be an object");
      }
      JsonNode alg = m.get("HashAlgorithm");
      if (alg == null || !alg.isTextual() || !alg.asText().startsWith("Sha384")) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "expected PCRs: Measurements.HashAlgorithm must be Sha384, found " + alg);
      }
      sets.add(readSet(m, "Measurements", true));
    } else if (root.has("format")) {
      JsonNode f = root.get("format");
      if (!f.isTextual() || !f.asText().equals(MEASUREMENTS_FORMAT)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.UNSUPPORTED_VERSION,
            "expected PCRs: format "
                + f
                + " is not supported (expected \""
                + MEASUREMENTS_FORMAT
                + "\")");
      }
      JsonNode pcrs = root.get("pcrs");
      if (pcrs == null || !pcrs.isObject()) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "expected PCRs: \"pcrs\" must be an object");
      }
      sets.add(readSet(pcrs, "pcrs", false));
    } else {
      JsonNode v = root.get("version");
      if (v == null || !v.isInt()) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "expected PCRs: missing integer \"version\"");
      }
      if (v.asInt() != 1) {
        throw new MalformedInputException(
            MalformedInputException.Kind.UNSUPPORTED_VERSION,
            "expected PCRs: version " + v.asInt() + " is not supported (expected 1)");
      }
      Iterator<String> names = root.fieldNames();
      while (names.hasNext()) {
        String n = names.next();
        if (!n.equals("version") && !n.equals("allowed") && !n.equals(KMS_KEY_ARN)) {
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED, "expected PCRs: unknown key \"" + n + "\"");
        }
      }
      JsonNode allowed = root.get("allowed");
      if (allowed == null || !allowed.isArray() || allowed.isEmpty()) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "expected PCRs: \"allowed\" must be a non-empty array");
      }
      if (allowed.size() > MAX_SETS) {
        throw new MalformedInputException(
            MalformedInputException.Kind.OVERSIZE,
            "expected PCRs: more than " + MAX_SETS + " allowed sets");
      }
      for (int i = 0; i < allowed.size(); i++) {
        JsonNode s = allowed.get(i);
        if (!s.isObject()) {
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED,
              "expected PCRs: allowed[" + i + "] must be an object");
        }
        sets.add(readSet(s, "allowed[" + i + "]", false));
      }
    }
    try {
      return of(sets);
    } catch (IllegalArgumentException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "expected PCRs: " + e.getMessage(), e);
    }
  }

  /**
   * The member of a deployment file (any of the three forms above) that names the KMS key the
   * operator published beside the measurements: a sender pins both together (kms-sealing.md §5).
   */
  public static final String KMS_KEY_ARN = "kms_key_arn";

  /**
   * The KMS key ARN a deployment file names in its top-level {@value #KMS_KEY_ARN} member, if any.
   *
   * @throws MalformedInputException the file is not a JSON object (duplicate keys included), or the
   *     member is not a string of 1..2048 printable ASCII characters
   */
  public static java.util.Optional<String> kmsKeyArn(byte[] json) throws MalformedInputException {
    if (json.length > MAX_FILE_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "expected PCRs: " + json.length + " bytes exceed the limit of " + MAX_FILE_BYTES);
    }
    JsonNode root;
    try {
      root =
          JsonMapper.builder()
              .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
              .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
              .build()
              .readTree(json);
    } catch (IOException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "expected PCRs: not JSON", e);
    }
    if (root == null || !root.isObject() || !root.has(KMS_KEY_ARN)) {
      return java.util.Optional.empty();
    }
    JsonNode v = root.get(KMS_KEY_ARN);
    if (!v.isTextual() || !dev.keycast.protocol.keyset.KeyBundle.isWellFormedKmsKeyId(v.asText())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "expected PCRs: \""
              + KMS_KEY_ARN
              + "\" must be a KMS key ARN (1..2048 printable ASCII characters), found "
              + abbreviate(v.toString()));
    }
    return java.util.Optional.of(v.asText());
  }

  private static Map<Integer, byte[]> readSet(JsonNode obj, String where, boolean ignoreOthers)
      throws MalformedInputException {
    Map<Integer, byte[]> set = new TreeMap<>();
    for (Map.Entry<String, JsonNode> e : obj.properties()) {
      String k = e.getKey();
      if (!k.matches("PCR([0-9]|[12][0-9]|3[01])")) {
        if (ignoreOthers) {
          continue;
        }
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "expected PCRs: " + where + ": unknown key \"" + k + "\"");
      }
      int idx = Integer.parseInt(k.substring(3));
      JsonNode v = e.getValue();
      if (!v.isTextual() || !v.asText().matches("[0-9a-fA-F]{96}")) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "expected PCRs: "
                + where
                + "."
                + k
                + " must be 96 hex digits, found "
                + abbreviate(v.toString()));
      }
      set.put(idx, HexFormat.of().parseHex(v.asText().toLowerCase(java.util.Locale.ROOT)));
    }
    return set;
  }

  private static String abbreviate(String s) {
    return s.length() > 120 ? s.substring(0, 120) + "..." : s;
  }

  /** Serializes to Keycast's own format (version 1). */
  public String toJson() {
    StringBuilder b = new StringBuilder("{\"version\":1,\"allowed\":[");
    for (int i = 0; i < sets.size(); i++) {
      b.append(i == 0 ? "{" : ",{");
      boolean first = true;
      for (Map.Entry<Integer, byte[]> e : sets.get(i).entrySet()) {
        b.append(first ? "" : ",")
            .append("\"PCR")
            .append(e.getKey())
            .append("\":\"")
            .append(HexFormat.of().formatHex(e.getValue()))
            .append('"');
        first = false;
      }
      b.append('}');
    }
    return b.append("]}").toString();
  }

  @Override
  public String toString() {
    return "ExpectedPcrs" + toJson();
  }
}
