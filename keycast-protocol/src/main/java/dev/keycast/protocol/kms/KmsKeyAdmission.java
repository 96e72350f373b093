package dev.keycast.protocol.kms;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which images a key policy admits, per action (kms-sealing.md section 7): the PCR0 values its
 * Allow statements admit for {@code kms:Decrypt} and for {@code kms:GenerateDataKey}, and the PCR3
 * / PCR8 values each Decrypt statement requires. Meaningful only for a policy that {@link
 * KmsKeyLockVerdict} judged <em>locked</em>: then every Allow that yields plaintext is one of these
 * two actions, to IAM roles or users, under an image condition, and nothing else can.
 *
 * @param decryptImages PCR0 values (lower-case hex) admitted for Decrypt, over all statements
 * @param generateImages PCR0 values admitted for GenerateDataKey, over all statements
 * @param decryptPcr3 for each Allow statement covering Decrypt, the PCR3 values it requires
 *     (an empty set: it requires none)
 * @param decryptPcr8 likewise for PCR8
 */
public record KmsKeyAdmission(
    Set<String> decryptImages,
    Set<String> generateImages,
    List<Set<String>> decryptPcr3,
    List<Set<String>> decryptPcr8) {

  public KmsKeyAdmission {
    decryptImages = Set.copyOf(decryptImages);
    generateImages = Set.copyOf(generateImages);
    decryptPcr3 = decryptPcr3.stream().map(Set::copyOf).toList();
    decryptPcr8 = decryptPcr8.stream().map(Set::copyOf).toList();
  }

  /**
   * Reads the admissions of a policy text.
   *
   * @throws IllegalArgumentException when the text is not a JSON policy (a locked policy always is)
   */
  public static KmsKeyAdmission of(String policy) {
    JsonNode root;
    try {
      ObjectMapper mapper = new ObjectMapper();
      mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      root = mapper.readTree(policy);
    } catch (Exception e) {
      throw new IllegalArgumentException("the key policy is not valid JSON");
    }
    if (root == null || !root.isObject() || root.get("Statement") == null) {
      throw new IllegalArgumentException("the key policy has no Statement");
    }
    List<JsonNode> statements = new ArrayList<>();
    JsonNode st = root.get("Statement");
    if (st.isArray()) {
      st.forEach(statements::add);
    } else {
      statements.add(st);
    }
    Set<String> decrypt = new TreeSet<>();
    Set<String> generate = new TreeSet<>();
    List<Set<String>> pcr3 = new ArrayList<>();
    List<Set<String>> pcr8 = new ArrayList<>();
    for (JsonNode s : statements) {
      if (!s.isObject() || !"Allow".equals(s.path("Effect").asText(""))) {
        continue;
      }
      List<String> actions = KmsKeyLockVerdict.strings(s.get("Action"));
      if (actions == null) {
        continue;
      }
      boolean coversDecrypt = covers(actions, "kms:decrypt");
      boolean coversGenerate = covers(actions, "kms:generatedatakey");
      if (!coversDecrypt && !coversGenerate) {
        continue;
      }
      Set<String> images = KmsKeyLockVerdict.attestedImages(s.get("Condition"));
      if (coversDecrypt) {
        decrypt.addAll(images);
        pcr3.add(register(s.get("Condition"), "kms:recipientattestation:pcr3"));
        pcr8.add(register(s.get("Condition"), "kms:recipientattestation:pcr8"));
      }
      if (coversGenerate) {
        generate.addAll(images);
      }
    }
    return new KmsKeyAdmission(decrypt, generate, pcr3, pcr8);
  }

  private static boolean covers(List<String> actions, String action) {
    return actions.stream()
        .anyMatch(a -> KmsKeyLockVerdict.glob(a.toLowerCase(Locale.ROOT), action));
  }

  /** The values a StringEquals(IgnoreCase) condition requires of one key (lower-case), or empty. */
  private static Set<String> register(JsonNode condition, String key) {
    Set<String> out = new TreeSet<>();
    if (condition == null || !condition.isObject()) {
      return out;
    }
    for (Iterator<Map.Entry<String, JsonNode>> ops = condition.fields(); ops.hasNext(); ) {
      Map.Entry<String, JsonNode> op = ops.next();
      String operator = op.getKey().toLowerCase(Locale.ROOT);
      if (!(operator.equals("stringequals") || operator.equals("stringequalsignorecase"))
          || !op.getValue().isObject()) {
        continue;
      }
      for (Iterator<Map.Entry<String, JsonNode>> keys = op.getValue().fields(); keys.hasNext(); ) {
        Map.Entry<String, JsonNode> kv = keys.next();
        if (kv.getKey().toLowerCase(Locale.ROOT).equals(key)) {
          List<String> values = KmsKeyLockVerdict.strings(kv.getValue());
          if (values != null) {
            values.forEach(v -> out.add(v.toLowerCase(Locale.ROOT)));
          }
        }
      }
    }
    return out;
  }
}
