package dev.keycast.host;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.server.UploadLimits;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

/** Helpers shared by the host's integration tests: start a host, build sends, call the API. */
final class HostTestSupport {
  static final SecureRandom RANDOM = new SecureRandom();
  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private HostTestSupport() {}

  static HostProxy.Config config(FakeEnclave enclave, String initKey) {
    EnclaveClient.Settings es =
        EnclaveClient.Settings.defaults(Endpoint.parse(enclave.endpoint()))
            .withResponseTimeout(Duration.ofSeconds(20));
    return new HostProxy.Config(
        Endpoint.parse(enclave.endpoint()),
        new TcpEndpoint("127.0.0.1", 0),
        new TcpEndpoint("127.0.0.1", 0),
        "eu-west-1",
        initKey,
        null,
        null,
        null,
        null,
        null,
        null,
        es,
        Duration.ofSeconds(5),
        Duration.ofSeconds(30),
        Duration.ofMillis(200));
  }

  static HostProxy start(FakeEnclave enclave, ArtefactStore store, String initKey)
      throws Exception {
    return start(enclave, store, initKey, UploadLimits.defaults());
  }

  /** A started host with its own upload limits. */
  static HostProxy start(
      FakeEnclave enclave, ArtefactStore store, String initKey, UploadLimits limits)
      throws Exception {
    HostProxy h =
        new HostProxy(
            config(enclave, initKey),
            store,
            "test",
            new StaticCredentials("AKIDTEST", "secret-test", null),
            Clock.systemUTC(),
            limits);
    h.start();
    return h;
  }

  /** Shuts down a test's host and enclave, either of which may not have started (null). */
  static void stop(HostProxy host, FakeEnclave enclave) throws Exception {
    if (host != null) {
      host.shutdown();
    }
    if (enclave != null) {
      enclave.close();
    }
  }

  static String base(HostProxy h) {
    TcpEndpoint t = (TcpEndpoint) h.publicEndpoint();
    return "http://127.0.0.1:" + t.port();
  }

  static String admin(HostProxy h) {
    TcpEndpoint t = (TcpEndpoint) h.adminEndpoint();
    return "http://127.0.0.1:" + t.port();
  }

  static HttpResponse<byte[]> get(String url) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /** GET with {@code Authorization: Bearer <sessionToken>}. */
  static HttpResponse<byte[]> get(String url, String sessionToken) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Authorization", "Bearer " + sessionToken)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpResponse<byte[]> post(String url, byte[] body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  static <T> T json(HttpResponse<byte[]> r, Class<T> type) throws Exception {
    return Json.decode(r.body(), 1 << 30, type);
  }

  static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * A registration body for an RSA key or chain ({@code keyOrChain}, PEM) with a fresh proof by
   * {@code privateKey} from the host at {@code base}.
   */
  static byte[] rsaRegistration(
      String base,
      String keyOrChain,
      java.security.PrivateKey privateKey,
      Map<String, String> labels)
      throws Exception {
    HttpResponse<byte[]> r =
        post(
            base + "/v1/recipients/challenge",
            Json.encode(new RecipientProof.ChallengeRequest(keyOrChain)));
    if (r.statusCode() != 200) {
      throw new AssertionError("challenge answered " + r.statusCode() + ": " + text(r));
    }
    RecipientProof.Challenge c = json(r, RecipientProof.Challenge.class);
    return Json.encode(
        new dev.keycast.protocol.api.HostApi.RegisterRecipient(
            keyOrChain,
            labels,
            c.token(),
            RecipientProof.signRsa(privateKey, c.token(), c.fingerprint())));
  }

  /** An X25519 recipient. */
  record Recipient(X25519PrivateKey key, String fingerprint, String spki) {
    static Recipient generate() {
      X25519PrivateKey k = X25519PrivateKey.generate(RANDOM);
      return new Recipient(
          k, k.publicKey().fingerprint(), Base64Url.encode(k.publicKey().toSpkiDer()));
    }

    /** A registration body with a fresh proof of possession from the host at {@code base}. */
    byte[] registration(String base) throws Exception {
      return registration(base, Map.of("name", "test"));
    }

    /** A registration body with these labels and a fresh proof from the host at {@code base}. */
    byte[] registration(String base, Map<String, String> labels) throws Exception {
      RecipientProof.Challenge c = challenge(base);
      return Json.encode(
          new dev.keycast.protocol.api.HostApi.RegisterRecipient(
              spki, labels, c.token(), RecipientProof.openX25519(key, c)));
    }

    /** A challenge of the host at {@code base} for this key. */
    RecipientProof.Challenge challenge(String base) throws Exception {
      HttpResponse<byte[]> r =
          post(
              base + "/v1/recipients/challenge",
              Json.encode(new RecipientProof.ChallengeRequest(spki)));
      if (r.statusCode() != 200) {
        throw new AssertionError("challenge answered " + r.statusCode() + ": " + text(r));
      }
      return json(r, RecipientProof.Challenge.class);
    }

    /** A session token of the host at {@code base} for this key. */
    String session(String base) throws Exception {
      RecipientProof.Challenge c = challenge(base);
      HttpResponse<byte[]> r =
          post(
              base + "/v1/recipients/" + fingerprint + "/sessions",
              Json.encode(
                  new RecipientProof.SessionRequest(c.token(), RecipientProof.openX25519(key, c))));
      if (r.statusCode() != 200) {
        throw new AssertionError("session answered " + r.statusCode() + ": " + text(r));
      }
      return json(r, RecipientProof.Session.class).sessionToken();
    }

    /** GET {@code path} of the host at {@code base} with a fresh session token of this key. */
    HttpResponse<byte[]> getAuthorized(String base, String path) throws Exception {
      return get(base + path, session(base));
    }
  }

  static SendPolicy policy(String secretId, List<String> fingerprints, boolean late) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    return new SendPolicy(
        SendPolicy.VERSION,
        secretId,
        "tests",
        now.minusSeconds(60),
        now.plus(Duration.ofDays(1)),
        new SendPolicy.RecipientSelector(fingerprints, null, null),
        late,
        1000,
        null);
  }

  /** A sender's payload sealing {@code secret} to the enclave's current key set. */
  static EnclaveApi.SendPayload payload(KeySet keySet, SendPolicy policy, byte[] secret)
      throws Exception {
    byte[] policyBytes = policy.toJson();
    HpkeCiphertext c =
        Hpke.seal(
            HpkeSuite.KEYCAST_V1,
            keySet.receivePublicKey(),
            FakeEnclave.info(keySet.id()),
            policyBytes,
            secret);
    return signed(
        new EnclaveApi.SendPayload(
            1,
            EnclaveApi.SUITE_V1,
            keySet.id(),
            Base64Url.encode(policyBytes),
            Base64Url.encode(c.enc()),
            Base64Url.encode(c.ciphertext())));
  }

  /** The owner of the sender sets of the tests that run a real enclave (issue 23). */
  static final dev.keycast.protocol.sender.SenderSigningKey OWNER =
      dev.keycast.protocol.sender.SenderSigningKey.generate(new java.security.SecureRandom());

  /** The sender those sets admit; {@link #payload} signs as it. */
  static final dev.keycast.protocol.sender.SenderSigningKey SENDER =
      dev.keycast.protocol.sender.SenderSigningKey.generate(new java.security.SecureRandom());

  /** {@code p} signed by {@link #SENDER} now. */
  static EnclaveApi.SendPayload signed(EnclaveApi.SendPayload p) throws Exception {
    return dev.keycast.protocol.sender.SendSigner.sign(p, SENDER, java.time.Instant.now());
  }

  /** A host's sender-set settings: {@link #OWNER} and {@link #SENDER}, the seal kept in {@code file}. */
  static SenderSetKeeper.Settings senderSettings(java.nio.file.Path file) {
    return new SenderSetKeeper.Settings(
        file, java.util.List.of(OWNER.publicKey()), java.util.List.of(SENDER.publicKey()));
  }

  /** Writes the PEM public keys of {@link #OWNER} and {@link #SENDER} into {@code dir} (host flags). */
  static java.util.List<String> senderFlags(java.nio.file.Path dir) throws java.io.IOException {
    java.nio.file.Path owner =
        java.nio.file.Files.writeString(
            dir.resolve("owner.pub.pem"),
            dev.keycast.protocol.sender.SenderKeyFiles.publicPem(OWNER.publicKey()));
    java.nio.file.Path sender =
        java.nio.file.Files.writeString(
            dir.resolve("sender.pub.pem"),
            dev.keycast.protocol.sender.SenderKeyFiles.publicPem(SENDER.publicKey()));
    return java.util.List.of(
        "--sender-state",
        dir.resolve("sender-set.bin").toString(),
        "--sender-owner-key",
        owner.toString(),
        "--sender-key",
        sender.toString());
  }
}
