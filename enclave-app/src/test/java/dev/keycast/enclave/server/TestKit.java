package dev.keycast.enclave.server;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.policy.SendPolicy;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Keys, certificates, sender payloads and an HTTP client for the server tests. */
final class TestKit {
  static final SecureRandom RANDOM = new SecureRandom();
  static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  private TestKit() {}

  static KeyPair rsa(int bits) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(bits);
    return g.generateKeyPair();
  }

  static X25519PrivateKey x25519() {
    return X25519PrivateKey.generate(RANDOM);
  }

  static String fp(PublicKey k) {
    return Fingerprints.of(k);
  }

  static EnclaveApi.Candidate candidate(PublicKey k, X509Certificate... chain) throws Exception {
    List<String> c = new java.util.ArrayList<>();
    for (X509Certificate x : chain) {
      c.add(Base64Url.encode(x.getEncoded()));
    }
    return new EnclaveApi.Candidate(Base64Url.encode(k.getEncoded()), c);
  }

  static EnclaveApi.Candidate candidate(X25519PrivateKey k) {
    return new EnclaveApi.Candidate(Base64Url.encode(k.publicKey().toSpkiDer()), List.of());
  }

  static X509Certificate cert(
      String subject, PublicKey key, String issuer, PrivateKey signer, boolean isCa)
      throws Exception {
    return cert(subject, key, issuer, signer, isCa, "SHA256withRSA");
  }

  static X509Certificate cert(
      String subject,
      PublicKey key,
      String issuer,
      PrivateKey signer,
      boolean isCa,
      String algorithm)
      throws Exception {
    var b =
        new JcaX509v3CertificateBuilder(
            new X500Name(issuer),
            BigInteger.valueOf(RANDOM.nextLong() >>> 1),
            Date.from(NOW.minus(1, ChronoUnit.DAYS)),
            Date.from(NOW.plus(365, ChronoUnit.DAYS)),
            new X500Name(subject),
            key);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
    // a recipient's leaf allows what its key does: key transport (RSA) or key agreement (X25519)
    boolean agreement = key.getAlgorithm().equals("XDH") || key.getAlgorithm().equals("X25519");
    b.addExtension(
        Extension.keyUsage,
        true,
        new KeyUsage(
            isCa
                ? KeyUsage.keyCertSign
                : agreement ? KeyUsage.keyAgreement : KeyUsage.keyEncipherment));
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(signer)));
  }

  static SendPolicy policy(
      String secretId,
      List<String> fingerprints,
      List<X509Certificate> anchors,
      Map<String, String> subject,
      boolean late,
      int max)
      throws Exception {
    List<String> a = new java.util.ArrayList<>();
    for (X509Certificate c : anchors) {
      a.add(Base64Url.encode(c.getEncoded()));
    }
    return new SendPolicy(
        1,
        secretId,
        "Studio",
        NOW.minus(1, ChronoUnit.HOURS),
        NOW.plus(1, ChronoUnit.DAYS),
        new SendPolicy.RecipientSelector(fingerprints, a, subject),
        late,
        max,
        null);
  }

  /** A sender's payload: {@code secret} sealed with HPKE to the bundle's receive key. */
  static EnclaveApi.SendPayload payload(KeyBundle bundle, byte[] policyBytes, byte[] secret)
      throws Exception {
    return dev.keycast.protocol.sender.SendSigner.sign(
        unsignedPayload(bundle, policyBytes, secret), SENDER, java.time.Instant.now());
  }

  /** A sender's payload with no sender signature. */
  static EnclaveApi.SendPayload unsignedPayload(KeyBundle bundle, byte[] policyBytes, byte[] secret)
      throws Exception {
    return dev.keycast.protocol.send.SendPayloadSealer.v1(
            bundle.keySetId(), bundle.receivePublicKey())
        .seal(policyBytes, secret, RANDOM)
        .toApi();
  }

  /** The owner of the test key sets' sender set. */
  static final dev.keycast.protocol.sender.SenderSigningKey OWNER =
      dev.keycast.protocol.sender.SenderSigningKey.generate(RANDOM);

  /** The one sender the test key sets admit; {@link #payload} signs as it. */
  static final dev.keycast.protocol.sender.SenderSigningKey SENDER =
      dev.keycast.protocol.sender.SenderSigningKey.generate(RANDOM);

  /**
   * Establishes the test sender set ({@link #OWNER}, {@link #SENDER}) for {@code keySetId}, as the
   * owner does right after init.
   */
  static EnclaveApi.SenderSetView establishSenders(SenderAuthorizer senders, String keySetId)
      throws EnclaveApiException {
    senders.keySetCreated(keySetId);
    return senders.genesis(
        new EnclaveApi.SenderGenesisRequest(
            List.of(Base64Url.encode(OWNER.publicKey().raw())),
            List.of(Base64Url.encode(SENDER.publicKey().raw()))));
  }

  /** A sender authorizer for {@code keys} with the test sender set established. */
  static SenderAuthorizer sendersFor(FakeKeySetService keys) throws EnclaveApiException {
    SenderAuthorizer senders = new SenderAuthorizer(keys, java.time.Clock.systemUTC());
    establishSenders(senders, keys.keySet.id());
    return senders;
  }

  /** {@link #establishSenders(SenderAuthorizer, String)} on a running server. */
  static EnclaveApi.SenderSetView establishSenders(EnclaveServer server, String keySetId)
      throws EnclaveApiException {
    return establishSenders(server.services().senders(), keySetId);
  }

  /** A JDK HTTP/1.1 client against a {@code tcp://} server. */
  static final class Http {
    final HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    final String base;

    Http(String base) {
      this.base = base;
    }

    HttpResponse<String> get(String path) throws Exception {
      return client.send(
          HttpRequest.newBuilder(URI.create(base + path))
              .timeout(Duration.ofSeconds(120))
              .GET()
              .build(),
          HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, Object body) throws Exception {
      byte[] bytes =
          body instanceof byte[] b
              ? b
              : body instanceof String s ? s.getBytes() : Json.encode(body);
      return client.send(
          HttpRequest.newBuilder(URI.create(base + path))
              .timeout(Duration.ofSeconds(300))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    }

    static <T> T json(HttpResponse<String> r, Class<T> type) throws Exception {
      return Json.decode(
          r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8), Integer.MAX_VALUE, type);
    }
  }
}
