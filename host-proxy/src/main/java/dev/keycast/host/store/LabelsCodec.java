package dev.keycast.host.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/** Labels as a flat JSON object of strings (tree model only: no reflective binding). */
final class LabelsCodec {
  private LabelsCodec() {}

  static ObjectNode toJson(ObjectMapper json, Map<String, String> labels) {
    ObjectNode node = json.createObjectNode();
    labels.forEach(node::put);
    return node;
  }

  static String encode(ObjectMapper json, Map<String, String> labels) {
    try {
      return json.writeValueAsString(toJson(json, labels));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("labels do not encode", e);
    }
  }

  static Map<String, String> fromJson(JsonNode node) throws StoreException {
    if (node == null || !node.isObject()) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, "labels are not a JSON object");
    }
    Map<String, String> labels = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, "label value is not a string");
      }
      labels.put(e.getKey(), e.getValue().asText());
    }
    return labels;
  }

  static Map<String, String> decode(ObjectMapper json, String text) throws StoreException {
    if ("{}".equals(text)) {
      return new TreeMap<>(); // no labels (the common case): no parser
    }
    try {
      return fromJson(json.readTree(text));
    } catch (JsonProcessingException e) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, "labels are not JSON", e);
    }
  }
}
