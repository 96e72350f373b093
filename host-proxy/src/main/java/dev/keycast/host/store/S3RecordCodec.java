package dev.keycast.host.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * The S3 store's record codec: each record as the JSON object the store writes, and back, every
 * stored value checked as it is read ({@code store_corrupt} for what does not decode).
 */
final class S3RecordCodec {
  private final ObjectMapper json = new ObjectMapper();

  /** A new empty JSON object. */
  ObjectNode object() {
    return json.createObjectNode();
  }

  /** A recipient's object (both the first registration and a replacement write this). */
  byte[] recipient(RecipientRecord r) {
    ObjectNode n = object();
    n.put("fingerprint", r.fingerprint());
    n.put("kind", r.kind());
    n.put("publicKey", b64(r.publicKeyOrChain()));
    n.set("labels", LabelsCodec.toJson(json, r.labels()));
    n.put("registeredAt", r.registeredAt().toEpochMilli());
    return encode(n);
  }

  /** The recipient stored at {@code key}, which must be {@code fp}'s. */
  RecipientRecord recipient(String key, byte[] body, String fp) throws StoreException {
    JsonNode n = decode(key, body);
    RecipientRecord r =
        stored(
            key,
            () ->
                new RecipientRecord(
                    text(key, n, "fingerprint"),
                    text(key, n, "kind"),
                    binary(key, n, "publicKey"),
                    LabelsCodec.fromJson(n.get("labels")),
                    Instant.ofEpochMilli(number(key, n, "registeredAt"))));
    if (!r.fingerprint().equals(fp)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another key");
    }
    return r;
  }

  /** A send manifest. */
  byte[] manifest(SendMetadata m, String receiptId, long count) {
    ObjectNode n = object();
    n.put("sendId", m.sendId());
    n.put("payloadHash", m.payloadHashHex());
    n.put("policy", b64(m.policyUnsafe()));
    n.put("lateRecipientsAllowed", m.lateRecipientsAllowed());
    if (m.notBefore() != null) {
      n.put("notBefore", m.notBefore().toEpochMilli());
    }
    if (m.notAfter() != null) {
      n.put("notAfter", m.notAfter().toEpochMilli());
    }
    n.put("sealedSecret", b64(m.sealedSecretUnsafe()));
    n.put("createdAt", m.createdAt().toEpochMilli());
    n.put("receiptId", receiptId);
    n.put("deliveryCount", count);
    return encode(n);
  }

  /** The send of the manifest at {@code key}, which must be of {@code payloadHashHex}. */
  StoredSend manifest(String key, byte[] body, String payloadHashHex) throws StoreException {
    JsonNode n = decode(key, body);
    StoredSend s =
        stored(
            key,
            () -> {
              JsonNode late = n.get("lateRecipientsAllowed");
              if (late == null || !late.isBoolean()) {
                throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad flags");
              }
              SendMetadata m =
                  new SendMetadata(
                      text(key, n, "sendId"),
                      HexFormat.of().parseHex(text(key, n, "payloadHash")),
                      binary(key, n, "policy"),
                      late.asBoolean(),
                      instantOrNull(key, n, "notBefore"),
                      instantOrNull(key, n, "notAfter"),
                      binary(key, n, "sealedSecret"),
                      Instant.ofEpochMilli(number(key, n, "createdAt")));
              return new StoredSend(m, text(key, n, "receiptId"), number(key, n, "deliveryCount"));
            });
    if (!s.metadata().payloadHashHex().equals(payloadHashHex)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another payload");
    }
    return s;
  }

  /** A receipt's object with its commit reference. */
  byte[] receipt(ReceiptRecord r, ObjectNode commit) {
    ObjectNode n = object();
    n.put("receiptId", r.receiptId());
    n.put("sendId", r.sendId());
    n.put("createdAt", r.createdAt().toEpochMilli());
    n.set("commit", commit);
    n.put("bytes", b64(r.bytesUnsafe()));
    return encode(n);
  }

  /** The receipt of the decoded object at {@code key}, which must be {@code receiptId}. */
  static ReceiptRecord receipt(String key, JsonNode n, String receiptId) throws StoreException {
    ReceiptRecord r =
        stored(
            key,
            () ->
                new ReceiptRecord(
                    text(key, n, "receiptId"),
                    text(key, n, "sendId"),
                    binary(key, n, "bytes"),
                    Instant.ofEpochMilli(number(key, n, "createdAt"))));
    if (!r.receiptId().equals(receiptId)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another receipt");
    }
    return r;
  }

  /** A delivery's object with its commit reference. */
  byte[] delivery(String sendId, String receiptId, Delivery d, ObjectNode commit) {
    ObjectNode n = object();
    n.put("deliveryId", d.deliveryId());
    n.put("sendId", sendId);
    n.put("receiptId", receiptId);
    n.put("recipient", d.recipientFingerprint());
    n.put("format", d.formatId());
    n.set("commit", commit);
    n.put("envelope", b64(d.envelopeUnsafe()));
    return encode(n);
  }

  /** The delivery of the decoded object at {@code key}, which must be {@code deliveryId}. */
  static StoredDelivery delivery(String key, JsonNode n, String deliveryId) throws StoreException {
    StoredDelivery d =
        stored(
            key,
            () ->
                new StoredDelivery(
                    text(key, n, "sendId"),
                    text(key, n, "receiptId"),
                    new Delivery(
                        text(key, n, "deliveryId"),
                        text(key, n, "recipient"),
                        text(key, n, "format"),
                        binary(key, n, "envelope"))));
    if (!d.deliveryId().equals(deliveryId)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another delivery");
    }
    return d;
  }

  /** A forward manifest: the receipt and delivery it commits. */
  byte[] forwardManifest(String receiptId, String deliveryId) {
    ObjectNode manifest = object();
    manifest.put("receiptId", receiptId);
    manifest.put("deliveryId", deliveryId);
    return encode(manifest);
  }

  byte[] encode(ObjectNode node) {
    try {
      return json.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("JSON encoding failed", e);
    }
  }

  JsonNode decode(String key, byte[] body) throws StoreException {
    try {
      JsonNode n = json.readTree(body);
      if (n == null || !n.isObject()) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " is not a JSON object");
      }
      return n;
    } catch (IOException e) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " is not JSON", e);
    }
  }

  static String text(String key, JsonNode n, String field) throws StoreException {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": missing " + field);
    }
    return v.asText();
  }

  static byte[] binary(String key, JsonNode n, String field) throws StoreException {
    try {
      return java.util.Base64.getDecoder().decode(text(key, n, field));
    } catch (IllegalArgumentException e) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad base64 in " + field);
    }
  }

  static long number(String key, JsonNode n, String field) throws StoreException {
    JsonNode v = n.get(field);
    if (v == null || !v.canConvertToLong()) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": missing " + field);
    }
    return v.asLong();
  }

  static Instant instantOrNull(String key, JsonNode n, String field) throws StoreException {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    return Instant.ofEpochMilli(number(key, n, field));
  }

  /** The strings of array {@code field} (absent: none), at most {@code max}. */
  static java.util.List<String> texts(String key, JsonNode n, String field, int max)
      throws StoreException {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return java.util.List.of();
    }
    if (!v.isArray() || v.size() > max) {
      throw new StoreException(
          StoreException.Code.STORE_CORRUPT,
          key + ": " + field + " is not a list of at most " + max);
    }
    java.util.List<String> out = new java.util.ArrayList<>(v.size());
    for (JsonNode e : v) {
      if (!e.isTextual()) {
        throw new StoreException(
            StoreException.Code.STORE_CORRUPT, key + ": " + field + " holds a non-string");
      }
      out.add(e.asText());
    }
    return out;
  }

  /** A cinema as its S3 object holds it (its e-mail addresses since issue 25; absent: none). */
  ObjectNode cinema(CinemaRecord c) {
    ObjectNode n = object();
    n.put("name", c.name());
    n.put("utcOffset", c.utcOffset());
    n.put("updatedAt", c.updatedAt().toEpochMilli());
    c.emails().forEach(n.putArray("emails")::add);
    return n;
  }

  static CinemaRecord cinema(String key, JsonNode n) throws StoreException {
    return stored(
        key,
        () ->
            new CinemaRecord(
                text(key, n, "name"),
                text(key, n, "utcOffset"),
                Instant.ofEpochMilli(number(key, n, "updatedAt")),
                texts(key, n, "emails", CinemaRecord.MAX_EMAILS)));
  }

  /** A mail outbox entry as its S3 object holds it. */
  ObjectNode mail(MailRecord m) {
    ObjectNode n = object();
    n.put("sendId", m.sendId());
    n.put("cinema", m.cinema());
    n.put("messageId", m.messageId());
    m.to().forEach(n.putArray("to")::add);
    n.put("sender", m.sender());
    n.put("state", m.state().wire());
    n.put("attempts", m.attempts());
    n.put("nextAttemptAt", m.nextAttemptAt().toEpochMilli());
    if (m.lastError() != null) {
      n.put("lastError", m.lastError());
    }
    n.put("queuedAt", m.queuedAt().toEpochMilli());
    n.put("updatedAt", m.updatedAt().toEpochMilli());
    return n;
  }

  static MailRecord mail(String key, JsonNode n) throws StoreException {
    return stored(
        key,
        () ->
            new MailRecord(
                text(key, n, "sendId"),
                text(key, n, "cinema"),
                text(key, n, "messageId"),
                texts(key, n, "to", CinemaRecord.MAX_EMAILS),
                text(key, n, "sender"),
                MailRecord.State.ofWire(text(key, n, "state")),
                (int) number(key, n, "attempts"),
                Instant.ofEpochMilli(number(key, n, "nextAttemptAt")),
                n.hasNonNull("lastError") ? text(key, n, "lastError") : null,
                Instant.ofEpochMilli(number(key, n, "queuedAt")),
                Instant.ofEpochMilli(number(key, n, "updatedAt"))));
  }

  static String b64(byte[] b) {
    return java.util.Base64.getEncoder().encodeToString(b);
  }

  /** Wraps an {@link IllegalArgumentException} from a record built from stored data. */
  @FunctionalInterface
  interface Decoder<T> {
    T decode() throws StoreException;
  }

  static <T> T stored(String key, Decoder<T> d) throws StoreException {
    try {
      return d.decode();
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " is invalid", e);
    }
  }
}
