package dev.keycast.kms.mock;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The fields of a KMS JSON request, read and checked as AWS KMS does (its exception types and
 * messages): strings, integers in a range, base64 blobs, encryption contexts.
 */
final class KmsRequestFields {
  static final int MAX_CONTEXT_ENTRIES = 64;

  private KmsRequestFields() {}

  static Optional<String> optText(JsonNode n, String f) throws KmsException {
    JsonNode v = n.get(f);
    if (v == null || v.isNull()) {
      return Optional.empty();
    }
    if (!v.isTextual()) {
      throw KmsException.serialization(f + " must be a string");
    }
    return Optional.of(v.asText());
  }

  static String requiredText(JsonNode n, String f) throws KmsException {
    return optText(n, f)
        .filter(s -> !s.isEmpty())
        .orElseThrow(
            () ->
                KmsException.validation(
                    "1 validation error detected: Value null at '"
                        + f
                        + "' failed to satisfy constraint: Member must not be null"));
  }

  static int intIn(JsonNode n, String f, int min, int max) throws KmsException {
    JsonNode v = n.get(f);
    if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
      throw KmsException.validation(f + " must be an integer from " + min + " to " + max);
    }
    int i = v.intValue();
    if (i < min || i > max) {
      throw KmsException.validation(f + " must be from " + min + " to " + max + ", got " + i);
    }
    return i;
  }

  static byte[] blob(JsonNode n, String f, boolean required) throws KmsException {
    JsonNode v = n.get(f);
    if (v == null || v.isNull()) {
      if (required) {
        throw KmsException.validation(
            "1 validation error detected: Value null at '"
                + f
                + "' failed to satisfy constraint: Member must not be null");
      }
      return new byte[0];
    }
    if (!v.isTextual()) {
      throw KmsException.serialization(f + " must be a base64 string");
    }
    try {
      return Base64.getDecoder().decode(v.asText());
    } catch (IllegalArgumentException e) {
      throw KmsException.serialization(f + " is not valid base64");
    }
  }

  static Map<String, String> encryptionContext(JsonNode req) throws KmsException {
    JsonNode c = req.get("EncryptionContext");
    Map<String, String> out = new LinkedHashMap<>();
    if (c == null || c.isNull()) {
      return out;
    }
    if (!c.isObject() || c.size() > MAX_CONTEXT_ENTRIES) {
      throw KmsException.validation(
          "EncryptionContext must be a map of at most " + MAX_CONTEXT_ENTRIES + " strings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()
          || e.getKey().isEmpty()
          || e.getKey().length() > 2048
          || e.getValue().asText().length() > 2048) {
        throw KmsException.validation(
            "EncryptionContext entries must be non-empty strings of at most 2048 characters");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  static Map<String, String> contextMap(JsonNode constraints, String field) throws KmsException {
    JsonNode n = constraints.get(field);
    Map<String, String> m = new java.util.TreeMap<>();
    if (n == null || n.isNull()) {
      return m;
    }
    if (!n.isObject() || n.size() > MAX_CONTEXT_ENTRIES) {
      throw KmsException.validation(
          field + " must be a map of at most " + MAX_CONTEXT_ENTRIES + " strings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw KmsException.validation(field + " values must be strings");
      }
      m.put(e.getKey(), e.getValue().asText());
    }
    return m;
  }

  static String shorten(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }

  static void checkAlgorithm(JsonNode req) throws KmsException {
    String alg = optText(req, "EncryptionAlgorithm").orElse("SYMMETRIC_DEFAULT");
    if (!alg.equals("SYMMETRIC_DEFAULT")) {
      throw KmsException.validation(
          "EncryptionAlgorithm must be SYMMETRIC_DEFAULT for a symmetric key");
    }
  }
}
