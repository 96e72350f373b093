package dev.keycast.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.time.Instant;

/**
 * The JSON codec of every Keycast API: snake_case names, unknown properties rejected, duplicate
 * keys rejected (an object naming a key twice is {@code malformed_request}, never "last wins": a
 * checker and a user of the same bytes must not see different values), nulls omitted, nesting and
 * string lengths capped. Decoding caps the input length before parsing and turns every
 * parser failure into {@link MalformedInputException} with code {@code malformed_request}.
 */
public final class Json {
  /** Longest JSON string value accepted (a base64url field of a large receipt fits). */
  public static final int MAX_STRING_LENGTH = 96 * 1024 * 1024;

  private static final ObjectMapper MAPPER =
      JsonMapper.builder(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxNestingDepth(32)
                          .maxStringLength(MAX_STRING_LENGTH)
                          .maxNumberLength(32)
                          .build())
                  .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .build())
          .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .addModule(new JavaTimeModule())
          // registered after JavaTimeModule, so it takes precedence for Instant: the common form by
          // hand, everything else through the module's own deserializer (UtcInstants)
          .addModule(
              new SimpleModule("keycast-utc-instants")
                  .addDeserializer(Instant.class, new UtcInstants.Deserializer()))
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.READ_DATE_TIMESTAMPS_AS_NANOSECONDS)
          .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
          .serializationInclusion(JsonInclude.Include.NON_NULL)
          .build();

  private Json() {}

  /** Parses {@code json} (at most {@code maxBytes} long) into {@code type}. */
  public static <T> T decode(byte[] json, int maxBytes, Class<T> type)
      throws MalformedInputException {
    if (json == null || json.length == 0) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST, "empty body; expected a JSON object");
    }
    if (json.length > maxBytes) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "JSON body of " + json.length + " bytes exceeds the limit of " + maxBytes);
    }
    try {
      T value = MAPPER.readValue(json, type);
      if (value == null) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED_REQUEST, "expected a JSON object, got null");
      }
      return value;
    } catch (JsonProcessingException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST, "malformed JSON: " + summary(e));
    } catch (IOException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST, "unreadable JSON body");
    } catch (IllegalArgumentException e) {
      // record constructors validate their components and throw IllegalArgumentException
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST, e.getMessage());
    }
  }

  /** Encodes {@code value} as UTF-8 JSON. */
  public static byte[] encode(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + value.getClass().getSimpleName(), e);
    }
  }

  /** The shared mapper, for streaming use. Never reconfigure it. */
  public static ObjectMapper mapper() {
    return MAPPER;
  }

  private static String summary(JsonProcessingException e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof IllegalArgumentException && root.getMessage() != null) {
      return root.getMessage();
    }
    String m = e.getOriginalMessage();
    if (m == null) {
      return "syntax error";
    }
    // keep the message short and free of echoed payload beyond a few characters
    return m.length() > 200 ? m.substring(0, 200) + "..." : m;
  }
}
