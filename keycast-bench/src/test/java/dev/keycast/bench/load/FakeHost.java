package dev.keycast.bench.load;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test-only stand-in for the host proxy's public API (api.md section 2): it opens every send with
 * the enclave's receive key exactly as api.md 1.1 prescribes (info, aad), so a wrongly sealed
 * payload is a {@code decryption_failed}. Every {@code failEvery}-th send answers {@code 503
 * overloaded}; every send takes {@code sendMillis} to answer.
 */
final class FakeHost implements AutoCloseable {
  final KeySet keySet = KeySet.generate(new SecureRandom());
  final Map<String, String> recipients =
      new ConcurrentHashMap<>(); // fingerprint -> registration key

  /** A live challenge: the key's fingerprint and, for X25519, the sealed response value. */
  private record Challenged(String fingerprint, byte[] response) {}

  private final Map<String, Challenged> challenges = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong challengeCount =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.security.SecureRandom random = new java.security.SecureRandom();
  final Map<String, String> receipts = new ConcurrentHashMap<>(); // receipt id -> send id
  final Map<String, SendPolicy> policies = new ConcurrentHashMap<>();
  final AtomicInteger sends = new AtomicInteger();
  final AtomicInteger decryptionFailures = new AtomicInteger();
  volatile int failEvery;

  /** How long each send takes to answer (0: at once). */
  volatile long sendMillis;

  private final HttpServer server;
  private final X25519PrivateKey receiveKey;

  FakeHost() throws IOException, MalformedInputException {
    receiveKey = X25519PrivateKey.fromRaw(keySet.receivePrivateKey());
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/v1/", this::handle);
    server.start();
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  private void handle(HttpExchange x) throws IOException {
    try {
      route(x);
    } catch (MalformedInputException e) {
      reply(x, 400, new ErrorBody("malformed_request", e.getMessage()));
    } catch (Exception e) {
      reply(x, 500, new ErrorBody("internal_error", e.toString()));
    } finally {
      x.close();
    }
  }

  private void route(HttpExchange x) throws Exception {
    {
      String path = x.getRequestURI().getPath();
      byte[] body = x.getRequestBody().readAllBytes();
      if (path.equals("/v1/attestation") && x.getRequestMethod().equals("GET")) {
        var b = keySet.bundle("arn:aws:kms:us-east-1:111122223333:key/fake-bench-key");
        reply(
            x,
            200,
            new EnclaveApi.AttestationResponse(
                Base64Url.encode("not a document".getBytes()),
                new EnclaveApi.KeyBundle(
                    b.keySetId(),
                    Base64Url.encode(b.receivePublicKey()),
                    Base64Url.encode(b.signingPublicKey()),
                    b.kmsKeyId(),
                    Base64Url.encode(b.userData()))));
      } else if (path.equals("/v1/recipients/challenge") && x.getRequestMethod().equals("POST")) {
        RecipientProof.ChallengeRequest r =
            Json.decode(body, 1 << 20, RecipientProof.ChallengeRequest.class);
        RecipientKey k =
            RecipientKeys.parse(
                r.key().startsWith("-----BEGIN")
                    ? r.key().getBytes(StandardCharsets.US_ASCII)
                    : Base64Url.decode("key", r.key(), 64 * 1024));
        String token = "t" + challengeCount.incrementAndGet();
        if (k instanceof dev.keycast.protocol.envelope.X25519RecipientKey xk) {
          byte[] value = new byte[32];
          random.nextBytes(value);
          challenges.put(token, new Challenged(k.fingerprint(), value));
          var c =
              dev.keycast.protocol.hpke.Hpke.seal(
                  dev.keycast.protocol.hpke.HpkeSuite.KEYCAST_V1,
                  xk.publicKey(),
                  RecipientProof.SEALED_RESPONSE_INFO,
                  token.getBytes(StandardCharsets.US_ASCII),
                  value,
                  random);
          reply(
              x,
              200,
              new RecipientProof.Challenge(
                  token,
                  k.fingerprint(),
                  Instant.now().plusSeconds(300),
                  Base64Url.encode(c.enc()),
                  Base64Url.encode(c.ciphertext())));
        } else {
          challenges.put(token, new Challenged(k.fingerprint(), null));
          reply(
              x,
              200,
              new RecipientProof.Challenge(
                  token, k.fingerprint(), Instant.now().plusSeconds(300), null, null));
        }
      } else if (path.equals("/v1/recipients") && x.getRequestMethod().equals("POST")) {
        HostApi.RegisterRecipient r = Json.decode(body, 1 << 20, HostApi.RegisterRecipient.class);
        byte[] key =
            r.key().startsWith("-----BEGIN")
                ? r.key().getBytes(StandardCharsets.US_ASCII)
                : Base64Url.decode("key", r.key(), 64 * 1024);
        RecipientKey k = RecipientKeys.parse(key);
        // like the real host: the proof must answer this host's challenge for this key
        Challenged c = r.token() == null ? null : challenges.remove(r.token());
        byte[] answer = r.proof() == null ? null : Base64Url.decode("proof", r.proof(), 1024);
        boolean proved =
            c != null
                && answer != null
                && c.fingerprint().equals(k.fingerprint())
                && (k instanceof dev.keycast.protocol.envelope.RsaRecipientKey rsa
                    ? RecipientProof.verifyRsa(rsa.publicKey(), r.token(), k.fingerprint(), answer)
                    : MessageDigest.isEqual(c.response(), answer));
        if (!proved) {
          reply(x, 401, new ErrorBody("proof_invalid", "no valid proof of possession"));
          return;
        }
        boolean fresh = recipients.putIfAbsent(k.fingerprint(), r.key()) == null;
        reply(
            x,
            fresh ? 201 : 200,
            new HostApi.Recipient(
                k.fingerprint(),
                k instanceof dev.keycast.protocol.envelope.RsaRecipientKey ? "rsa" : "x25519",
                r.labels(),
                Instant.now(),
                0));
      } else if (path.equals("/v1/sends") && x.getRequestMethod().equals("POST")) {
        int n = sends.incrementAndGet();
        if (sendMillis > 0) {
          try {
            Thread.sleep(sendMillis); // a deliberately slow host (the test's subject), not a wait
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        if (failEvery > 0 && n % failEvery == 0) {
          reply(x, 503, new ErrorBody("overloaded", "try later"));
          return;
        }
        EnclaveApi.SendPayload p = Json.decode(body, 1 << 26, EnclaveApi.SendPayload.class);
        byte[] policy = Base64Url.decode("policy", p.policy(), SendPolicy.MAX_BYTES);
        byte[] enc = Base64Url.decode("enc", p.enc(), 32);
        byte[] ct = Base64Url.decode("ciphertext", p.ciphertext(), 1 << 17);
        byte[] info = ("keycast/v1/send\0" + keySet.id()).getBytes(StandardCharsets.UTF_8);
        try {
          Hpke.open(HpkeSuite.KEYCAST_V1, receiveKey, info, policy, new HpkeCiphertext(enc, ct));
        } catch (DecryptionFailedException e) {
          decryptionFailures.incrementAndGet();
          reply(x, 400, new ErrorBody("decryption_failed", "no"));
          return;
        }
        SendPolicy sp = SendPolicy.parse(policy);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update("keycast/v1/send-id\0".getBytes(StandardCharsets.US_ASCII));
        sha.update(enc);
        sha.update(ct);
        String sendId = HexFormat.of().formatHex(sha.digest(), 0, 16);
        boolean replayed = receipts.putIfAbsent(sendId, sendId) != null;
        policies.put(sendId, sp);
        List<HostApi.DeliverySummary> delivered =
            sp.recipients().fingerprints().stream()
                .filter(recipients::containsKey)
                .map(
                    fp ->
                        new HostApi.DeliverySummary(
                            "d" + fp.substring(0, 8), sendId, fp, "hpke-x25519-v1", Instant.now()))
                .toList();
        if (!sp.recipients().anchors().isEmpty()) {
          delivered =
              recipients.entrySet().stream()
                  .filter(e -> e.getValue().startsWith("-----BEGIN"))
                  .map(
                      e ->
                          new HostApi.DeliverySummary(
                              "d", sendId, e.getKey(), "cms-aes256gcm-v1", Instant.now()))
                  .toList();
        }
        reply(
            x,
            200,
            new HostApi.SendResult(
                sendId, sp.secretId(), sendId, "cmVjZWlwdA", delivered, List.of(), replayed));
      } else if (path.startsWith("/v1/receipts/") && x.getRequestMethod().equals("GET")) {
        String id = path.substring("/v1/receipts/".length());
        String sendId = receipts.get(id);
        if (sendId == null) {
          reply(x, 404, new ErrorBody("not_found", "no receipt " + id));
        } else {
          reply(x, 200, new HostApi.ReceiptView(id, sendId, "cmVjZWlwdA"));
        }
      } else {
        reply(x, 404, new ErrorBody("not_found", path));
      }
    }
  }

  private static void reply(HttpExchange x, int status, Object body) throws IOException {
    byte[] b = Json.encode(body);
    x.getResponseHeaders().set("Content-Type", "application/json");
    x.sendResponseHeaders(status, b.length);
    x.getResponseBody().write(b);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
