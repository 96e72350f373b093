package dev.keycast.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.SendIds;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.send.SealedSendPayload;
import dev.keycast.protocol.send.SendPayloadSealer;
import dev.keycast.protocol.sender.SendSigner;
import dev.keycast.protocol.sender.SenderKeyFiles;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A send built the way {@code keycast send} builds it (policy, HPKE seal to the attested receive
 * key, sender signature) but kept as its exact request body, so that the test can post the same
 * payload twice, to either host: the retry of api.md 1.1. The receive key comes from a bundle file
 * that {@code keycast attest --out-bundle} verified.
 */
final class RawSend {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  /** A sealed, signed payload: its request body and the secret it carries (test only). */
  record Payload(
      String secretId, String sendId, byte[] secret, List<String> recipients, byte[] body) {}

  /** The host's answer: status, error code (or null), and the send's fields when 200. */
  record Answer(
      int status,
      String error,
      String sendId,
      String receiptId,
      boolean replayed,
      String receipt,
      int delivered) {
    boolean ok() {
      return status == 200;
    }
  }

  private final String keySetId;
  private final byte[] receiveKey;

  private RawSend(String keySetId, byte[] receiveKey) {
    this.keySetId = keySetId;
    this.receiveKey = receiveKey;
  }

  /** From the bundle file {@code keycast attest --out-bundle} wrote. */
  static RawSend fromBundle(Path bundleFile) throws Exception {
    JsonNode b = JSON.readTree(bundleFile.toFile()).path("key_bundle");
    byte[] spki =
        Base64Url.decode("receive_public_key", b.path("receive_public_key").asText(), 1024);
    // X25519 SPKI DER: a 12-byte prefix, then the 32-byte key
    return new RawSend(
        b.path("key_set_id").asText(), Arrays.copyOfRange(spki, spki.length - 32, spki.length));
  }

  /** Seals {@code secret} for {@code recipients} and signs it with the sender key in {@code key}. */
  Payload seal(String secretId, byte[] secret, List<String> recipients, Path senderKey)
      throws Exception {
    Instant nb = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(60);
    SendPolicy policy =
        new SendPolicy(
            SendPolicy.VERSION,
            secretId,
            "keycast two-parent e2e",
            nb,
            nb.plus(Duration.ofDays(1)),
            new SendPolicy.RecipientSelector(List.copyOf(recipients), List.of(), Map.of()),
            false,
            recipients.size(),
            SendPolicy.CONTENT_AES_256_GCM);
    SealedSendPayload sealed =
        SendPayloadSealer.v1(keySetId, receiveKey)
            .seal(policy.toJson(), secret.clone(), new SecureRandom());
    EnclaveApi.SendPayload payload = sealed.toApi();
    try (SenderSigningKey signer = SenderKeyFiles.readPrivate(senderKey)) {
      payload = SendSigner.sign(payload, signer, Instant.now());
    }
    return new Payload(
        secretId,
        SendIds.of(sealed.enc(), sealed.ciphertext()),
        secret.clone(),
        List.copyOf(recipients),
        Json.encode(payload));
  }

  /** POST /v1/sends of {@code host} with the payload's exact bytes. */
  static Answer post(String host, Payload p) throws IOException, InterruptedException {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(host + "/v1/sends"))
                .timeout(Duration.ofSeconds(180))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(p.body()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode n = r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
    if (r.statusCode() != 200) {
      return new Answer(r.statusCode(), n.path("error").asText("?"), null, null, false, null, 0);
    }
    return new Answer(
        200,
        null,
        n.path("send_id").asText(),
        n.path("receipt_id").asText(),
        n.path("replayed").asBoolean(),
        n.path("receipt").asText(),
        n.path("delivered").size());
  }

  /**
   * GET /v1/receipts/{id} of {@code host} as the receipt's sender (a request signed with the key
   * in {@code senderKey}, api.md 2.2): 200 when the send is committed, 404 when there is none.
   */
  static int receiptStatus(String host, String receiptId, Path senderKey) throws Exception {
    String target = "/v1/receipts/" + receiptId;
    String auth;
    try (SenderSigningKey signer = SenderKeyFiles.readPrivate(senderKey)) {
      auth = SenderRequestSignature.authorization(signer, "GET", target, null, Instant.now());
    }
    return HTTP.send(
            HttpRequest.newBuilder(URI.create(host + target))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", auth)
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** GET {@code path} of {@code host} (no credentials) as JSON; fails unless 200. */
  static JsonNode getJson(String host, String path) throws IOException, InterruptedException {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(host + path)).timeout(Duration.ofSeconds(60)).build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("GET " + host + path + ": " + r.statusCode() + " " + r.body());
    }
    return JSON.readTree(r.body());
  }
}
