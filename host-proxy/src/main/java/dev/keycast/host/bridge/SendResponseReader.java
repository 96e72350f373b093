package dev.keycast.host.bridge;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * Reads an enclave {@code SendResponse} or {@code ForwardResponse} body without materialising its
 * deliveries: {@link #header} reads every other member in one pass (skipping the deliveries and
 * counting them), {@link #deliveries} iterates the deliveries one at a time in a second pass. A
 * 100,000-delivery answer is thus held once, as its bytes, while the store commits it. Member order
 * does not matter; unknown members are refused.
 */
public final class SendResponseReader {
  private static final ObjectMapper MAPPER = Json.mapper();
  private static final ObjectReader DELIVERY =
      MAPPER
          .readerFor(EnclaveApi.Delivery.class)
          .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final ObjectReader BOOKING =
      MAPPER
          .readerFor(EnclaveApi.BookingInfo.class)
          .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final ObjectReader SKIPPED =
      MAPPER
          .readerFor(EnclaveApi.Skipped.class)
          .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private SendResponseReader() {}

  /** A JSON answer that can be parsed more than once: bytes in memory, or a spooled file. */
  @FunctionalInterface
  public interface Source {
    /** A new parser over the whole answer. */
    JsonParser open() throws IOException;

    /** An answer in memory. */
    static Source of(byte[] json) {
      Objects.requireNonNull(json, "json");
      return () -> MAPPER.getFactory().createParser(json);
    }

    /** An answer in a spooled file (its streams are closed with it). */
    static Source of(SpooledFile file) {
      Objects.requireNonNull(file, "file");
      return () -> MAPPER.getFactory().createParser(file.openStream());
    }
  }

  /**
   * Every member of the answer but the deliveries.
   *
   * @param deliveryCount how many deliveries the answer carries
   */
  public record Header(
      String sendId,
      String secretId,
      String receiptId,
      String receipt,
      String sealedSecret,
      List<EnclaveApi.Skipped> skipped,
      int deliveryCount,
      String policy,
      EnclaveApi.BookingInfo booking) {
    /** The header of a send or forward answer (no derived policy, no booking). */
    public Header(
        String sendId,
        String secretId,
        String receiptId,
        String receipt,
        String sealedSecret,
        List<EnclaveApi.Skipped> skipped,
        int deliveryCount) {
      this(sendId, secretId, receiptId, receipt, sealedSecret, skipped, deliveryCount, null, null);
    }
  }

  /** One delivery of the answer without its envelope (what the send's result lists). */
  public record Delivered(String deliveryId, String recipient, String format) {}

  /**
   * Every member of the answer but the deliveries' envelopes.
   *
   * @param delivered each delivery's names, in the answer's order; null for an answer of more than
   *     {@link #KEPT_NAMES} deliveries, whose names are read again from the answer ({@link
   *     #deliveries}) instead of being held
   */
  public record Names(Header header, List<Delivered> delivered) {}

  /** Most delivery names {@link #names} keeps. */
  public static final int KEPT_NAMES = 4096;

  /** Reads everything but the deliveries. */
  public static Header header(byte[] json) throws MalformedInputException {
    return names(json).header();
  }

  /**
   * Reads everything but the deliveries' envelopes, in one pass (an envelope is skipped unread: the
   * parser does not decode a string nobody asks for).
   */
  public static Names names(byte[] json) throws MalformedInputException {
    return names(Source.of(json));
  }

  /** {@link #names(byte[])} of an answer that may be spooled. */
  public static Names names(Source json) throws MalformedInputException {
    Objects.requireNonNull(json, "json");
    try (JsonParser p = json.open()) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED_REQUEST, "send answer is not a JSON object");
      }
      String sendId = null;
      String secretId = null;
      String receiptId = null;
      String receipt = null;
      String sealed = null;
      String policy = null;
      EnclaveApi.BookingInfo booking = null;
      List<EnclaveApi.Skipped> skipped = new ArrayList<>();
      List<Delivered> delivered = new ArrayList<>();
      int count = 0;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "send_id" -> sendId = text(p, t, name);
          case "secret_id" -> secretId = text(p, t, name);
          case "receipt_id" -> receiptId = text(p, t, name);
          case "receipt" -> receipt = text(p, t, name);
          case "sealed_secret" -> sealed = text(p, t, name);
          // a booking's answer (wire-format.md section 11.5): the derived policy and what it used
          case "policy" -> policy = text(p, t, name);
          case "booking" -> booking = t == JsonToken.START_OBJECT ? BOOKING.readValue(p) : null;
          case "skipped" -> {
            if (t == JsonToken.START_ARRAY) {
              while (p.nextToken() == JsonToken.START_OBJECT) {
                skipped.add(SKIPPED.readValue(p));
              }
            } else if (t != JsonToken.VALUE_NULL) {
              throw new MalformedInputException(
                  MalformedInputException.Kind.MALFORMED_REQUEST, "skipped is not an array");
            }
          }
          case "deliveries" -> {
            if (t == JsonToken.START_ARRAY) {
              while (p.nextToken() == JsonToken.START_OBJECT) {
                Delivered d = delivered(p);
                if (count++ < KEPT_NAMES) {
                  delivered.add(d);
                }
              }
            } else if (t != JsonToken.VALUE_NULL) {
              throw new MalformedInputException(
                  MalformedInputException.Kind.MALFORMED_REQUEST, "deliveries is not an array");
            }
          }
          default ->
              throw new MalformedInputException(
                  MalformedInputException.Kind.MALFORMED_REQUEST,
                  "unknown member in the send answer: " + name);
        }
      }
      return new Names(
          new Header(
              sendId,
              secretId,
              receiptId,
              receipt,
              sealed,
              List.copyOf(skipped),
              count,
              policy,
              booking),
          count > KEPT_NAMES ? null : List.copyOf(delivered));
    } catch (IOException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST,
          "send answer does not parse: " + e.getClass().getSimpleName());
    }
  }

  /**
   * The names of the delivery object the parser stands at the start of; its envelope (and any
   * other member) is skipped unread (the parser does not decode a string nobody asks for).
   */
  private static Delivered delivered(JsonParser p) throws MalformedInputException, IOException {
    String id = null;
    String recipient = null;
    String format = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      switch (name) {
        case "delivery_id" -> id = text(p, t, name);
        case "recipient" -> recipient = text(p, t, name);
        case "format" -> format = text(p, t, name);
        default -> p.skipChildren();
      }
    }
    return new Delivered(id, recipient, format);
  }

  private static String text(JsonParser p, JsonToken t, String name)
      throws MalformedInputException, IOException {
    if (t == JsonToken.VALUE_NULL) {
      return null;
    }
    if (t != JsonToken.VALUE_STRING) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST, name + " is not a string");
    }
    return p.getText();
  }

  /**
   * The deliveries, parsed one at a time while iterated. The body must have passed
   * {@link #header}; a parse error while iterating is an {@link UncheckedIOException}.
   */
  public static Iterable<EnclaveApi.Delivery> deliveries(byte[] json) {
    return deliveries(Source.of(json));
  }

  /** {@link #deliveries(byte[])} of an answer that may be spooled. */
  public static Iterable<EnclaveApi.Delivery> deliveries(Source json) {
    Objects.requireNonNull(json, "json");
    return () ->
        new Iterator<>() {
          private JsonParser p;
          private EnclaveApi.Delivery next;
          private boolean done;

          private void advance() {
            try {
              if (p == null) {
                p = json.open();
                p.nextToken(); // START_OBJECT
                while (true) {
                  JsonToken t = p.nextToken();
                  if (t != JsonToken.FIELD_NAME) {
                    done = true;
                    p.close();
                    return;
                  }
                  String name = p.currentName();
                  t = p.nextToken();
                  if (name.equals("deliveries") && t == JsonToken.START_ARRAY) {
                    break;
                  }
                  p.skipChildren();
                }
              }
              if (p.nextToken() == JsonToken.START_OBJECT) {
                next = DELIVERY.readValue(p);
              } else {
                done = true;
                p.close();
              }
            } catch (IOException e) {
              throw new UncheckedIOException("send answer deliveries do not parse", e);
            }
          }

          @Override
          public boolean hasNext() {
            if (next == null && !done) {
              advance();
            }
            return next != null;
          }

          @Override
          public EnclaveApi.Delivery next() {
            if (!hasNext()) {
              throw new NoSuchElementException();
            }
            EnclaveApi.Delivery d = next;
            next = null;
            return d;
          }
        };
  }
}
