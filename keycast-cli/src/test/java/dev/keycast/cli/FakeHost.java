package dev.keycast.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.attestation.TestAttester;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormats;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptSigner;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A host proxy for CLI tests, over real HTTP on 127.0.0.1: it serves attestation documents minted
 * by {@link TestAttester} over a {@link KeySet} bundle, opens senders' HPKE payloads as the enclave
 * would (api.md 1.1), decides eligibility with {@link Eligibility}, delivers with the protocol's
 * formats and signs receipts with the key set. Knobs let tests make it misbehave.
 */
final class FakeHost implements AutoCloseable {
  final TestAttester attester =
      new TestAttester(Instant.now().minus(Duration.ofHours(1)), Duration.ofHours(3));
  final KeySet keySet = KeySet.generate(new SecureRandom());
  private final HttpServer server;
  private final SecureRandom random = new SecureRandom();

  /** Sender identity (issue 23): the owner and the first sender of this key set's sender set. */
  static final dev.keycast.protocol.sender.SenderSigningKey OWNER =
      dev.keycast.protocol.sender.SenderSigningKey.generate(new SecureRandom());

  static final dev.keycast.protocol.sender.SenderSigningKey SENDER =
      dev.keycast.protocol.sender.SenderSigningKey.generate(new SecureRandom());

  /** Writes {@link #SENDER}'s private key into {@code dir} as PEM; returns the file. */
  static java.nio.file.Path senderKeyFile(java.nio.file.Path dir) {
    return keyFile(dir, "sender", SENDER);
  }

  static java.nio.file.Path keyFile(
      java.nio.file.Path dir, String name, dev.keycast.protocol.sender.SenderSigningKey k) {
    java.nio.file.Path f = dir.resolve(name + ".sender.key.pem");
    try {
      if (!java.nio.file.Files.exists(f)) {
        java.nio.file.Files.writeString(
            f, dev.keycast.protocol.sender.SenderKeyFiles.privatePem(k));
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return f;
  }

  /** The sender set in force, as the enclave holds and attests it. */
  volatile dev.keycast.protocol.sender.SenderSet senders =
      new dev.keycast.protocol.sender.SenderSet(
          1, List.of(OWNER.publicKey()), List.of(SENDER.publicKey()));

  /** The host relays a sender set with one more sender than the enclave attests (a lie). */
  volatile boolean lieAboutSenders;

  /** The enclave's KDM signer (issue 24), made once per JVM (three RSA keys each). */
  static final class Signers {
    static final dev.keycast.protocol.keyset.KdmSignerKeys SIGNER = make();

    /** Another valid signer chain, for a host that swaps the chain it relays. */
    static final dev.keycast.protocol.keyset.KdmSignerKeys OTHER = make();

    private static dev.keycast.protocol.keyset.KdmSignerKeys make() {
      try {
        return dev.keycast.protocol.keyset.KdmSignerKeys.generate(
            "ks-" + "0".repeat(32),
            Instant.now().minus(Duration.ofDays(1)),
            10,
            new SecureRandom());
      } catch (dev.keycast.protocol.cinema.CinemaException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** The enclave attests a KDM signer chain (bundle version 5), as enclaves since issue 24 do. */
  volatile boolean withKdmSigner = true;

  /** The host relays another (valid) signer chain than the one the enclave attested (a lie). */
  volatile boolean swapKdmSignerChain;

  /** The host relays the attested chain with one bit of the leaf's signature flipped (a lie). */
  volatile boolean alterKdmSignerChain;

  // knobs
  volatile byte[] pcr0Override;
  volatile boolean wrongNonce;
  volatile boolean foreignSigningKeyInBundle;

  /** The operator's KMS key, whose ARN is published beside the measurements. */
  static final String KMS_KEY_ID =
      "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-1111-2222-3333-444455556666";

  /** A KMS key the host controls (default policy, no attestation condition). */
  static final String ATTACKER_KMS_KEY_ID =
      "arn:aws:kms:eu-west-1:111122223333:key/badbadba-dbad-badb-adba-dbadbadbadba";

  /** The KMS key the enclave's key set is sealed under, as the enclave attests it. */
  volatile String sealedUnder = KMS_KEY_ID;

  /** When set, the host rewrites kms_key_id in the attestation answer to this (a lie). */
  volatile String lieAboutKmsKey;

  /** The enclave found its KMS key NOT locked (its attested bundle says so). */
  volatile boolean kmsKeyUnlocked;

  /** The host rewrites the answer's kms_key_check to "locked" (a lie the user_data exposes). */
  volatile boolean lieThatTheKmsKeyIsLocked;

  /** The digest of the key policy the enclave read. */
  final byte[] kmsPolicySha256 = new byte[32];

  volatile boolean tamperReceipt;
  volatile boolean receiptOverOtherPolicy;
  volatile boolean tamperEnvelopes;
  volatile int maxPage = 1000;
  final Map<String, ErrorBody> errors = new ConcurrentHashMap<>();

  /** Raw answers (status, body) by "METHOD /path" prefix, to play a host that is not Keycast. */
  final Map<String, Map.Entry<Integer, String>> raw = new ConcurrentHashMap<>();

  // observations
  final List<EnclaveApi.SendPayload> sendPayloads = new CopyOnWriteArrayList<>();
  final List<byte[]> openedSecrets = new CopyOnWriteArrayList<>();
  final List<byte[]> openedPolicies = new CopyOnWriteArrayList<>();
  final List<String> requests = new CopyOnWriteArrayList<>();

  // state
  record Registered(RecipientKey key, Map<String, String> labels, Instant at) {}

  record Stored(
      String deliveryId,
      String sendId,
      String recipient,
      String format,
      byte[] envelope,
      Instant at) {}

  final Map<String, Registered> recipients = new ConcurrentHashMap<>();
  final NavigableMap<String, Stored> deliveries = new ConcurrentSkipListMap<>();
  final Map<String, HostApi.ReceiptView> receipts = new ConcurrentHashMap<>();

  /** Live challenges: token to (fingerprint, X25519 response value or null for RSA). */
  record Challenged(RecipientKey key, byte[] response) {}

  final Map<String, Challenged> challenges = new ConcurrentHashMap<>();

  /** Live session tokens to their fingerprint. */
  final Map<String, String> sessions = new ConcurrentHashMap<>();

  /** The server's TLS certificate (self-signed, SAN IP 127.0.0.1), or null for plain HTTP. */
  final X509Certificate tlsCertificate;

  FakeHost() throws IOException {
    this(false);
  }

  FakeHost(boolean tls) throws IOException {
    InetSocketAddress addr = new InetSocketAddress("127.0.0.1", 0);
    if (tls) {
      try {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        java.security.KeyPair kp = g.generateKeyPair();
        org.bouncycastle.asn1.x500.X500Name name =
            new org.bouncycastle.asn1.x500.X500Name("CN=127.0.0.1");
        var b =
            new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
                name,
                java.math.BigInteger.TWO,
                java.util.Date.from(Instant.now().minusSeconds(3600)),
                java.util.Date.from(Instant.now().plusSeconds(3600)),
                name,
                kp.getPublic());
        b.addExtension(
            org.bouncycastle.asn1.x509.Extension.subjectAlternativeName,
            false,
            new org.bouncycastle.asn1.x509.GeneralNames(
                new org.bouncycastle.asn1.x509.GeneralName(
                    org.bouncycastle.asn1.x509.GeneralName.iPAddress, "127.0.0.1")));
        tlsCertificate =
            new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
                .getCertificate(
                    b.build(
                        new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder(
                                "SHA256withECDSA")
                            .build(kp.getPrivate())));
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(
            "tls",
            kp.getPrivate(),
            new char[0],
            new java.security.cert.Certificate[] {tlsCertificate});
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, new char[0]);
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        com.sun.net.httpserver.HttpsServer https =
            com.sun.net.httpserver.HttpsServer.create(addr, 0);
        https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(ctx));
        server = https;
      } catch (Exception e) {
        throw new IOException("cannot set up TLS", e);
      }
    } else {
      tlsCertificate = null;
      server = HttpServer.create(addr, 0);
    }
    server.createContext("/", this::handle);
    server.start();
  }

  String url() {
    return (tlsCertificate == null ? "http" : "https")
        + "://127.0.0.1:"
        + server.getAddress().getPort();
  }

  String tlsCertificatePem() throws Exception {
    return "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(tlsCertificate.getEncoded())
        + "\n-----END CERTIFICATE-----\n";
  }

  KeyBundle bundle() {
    // Like the real enclave: the bundle carries its check of the KMS key (locked unless a test says
    // not).
    KeyBundle b =
        keySet
            .bundle(sealedUnder)
            .withKmsKeyCheck(
                new dev.keycast.protocol.keyset.KmsKeyCheck(!kmsKeyUnlocked, kmsPolicySha256))
            .withSenderSet(new KeyBundle.SenderSetRef(senders.version(), senders.digest()));
    return withKdmSigner ? b.withKdmSignerChain(Signers.SIGNER.chainDer()) : b;
  }

  /** PEM of the attester's root, for --trust-root. */
  String rootPem() throws Exception {
    return "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(attester.root().getEncoded())
        + "\n-----END CERTIFICATE-----\n";
  }

  /** The measurements the fake enclave reports, as an expected-PCRs file. */
  /** The published deployment file: the measurements and the operator's KMS key ARN. */
  static String measurementsJson() {
    return pcrsOnlyJson()
        .replace("{\"version\":1,", "{\"version\":1,\"kms_key_arn\":\"" + KMS_KEY_ID + "\",");
  }

  /** A measurements file that names no KMS key (nitro-cli's output, or an older Keycast file). */
  static String pcrsOnlyJson() {
    HexFormat hex = HexFormat.of();
    return "{\"version\":1,\"allowed\":[{\"PCR0\":\""
        + hex.formatHex(TestAttester.pcrValue(0x10))
        + "\",\"PCR1\":\""
        + hex.formatHex(TestAttester.pcrValue(0x11))
        + "\",\"PCR2\":\""
        + hex.formatHex(TestAttester.pcrValue(0x12))
        + "\"}]}";
  }

  /** Stores a delivery of {@code secret} to {@code key} in {@code format}, as a send would. */
  Stored deliver(
      RecipientKey key, DeliveryFormat<?> format, String sendId, String secretId, byte[] secret) {
    Instant nb = Instant.now().minusSeconds(60).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    DeliveryMetadata md =
        DeliveryMetadata.of(secretId, "studio", nb, nb.plus(Duration.ofDays(1)), key.fingerprint());
    byte[] env = format.seal(key, md, secret, random);
    if (tamperEnvelopes) {
      env[env.length - 5] ^= 1;
    }
    String id = deliveryId(sendId, key.fingerprint());
    Stored s = new Stored(id, sendId, key.fingerprint(), format.id(), env, Instant.now());
    deliveries.put(id, s);
    // a delivery implies a registration (the real host delivers only to registered keys)
    recipients.putIfAbsent(key.fingerprint(), new Registered(key, Map.of(), Instant.now()));
    return s;
  }

  private static String deliveryId(String sendId, String fp) {
    byte[] d =
        SendCommand.sha256(
            SendCommand.concat(
                "keycast/v1/delivery-id".getBytes(StandardCharsets.US_ASCII),
                new byte[] {0},
                sendId.getBytes(StandardCharsets.UTF_8),
                new byte[] {0},
                fp.getBytes(StandardCharsets.UTF_8)));
    return HexFormat.of().formatHex(Arrays.copyOf(d, 16));
  }

  @Override
  public void close() {
    server.stop(0);
    keySet.destroy();
  }

  // ---- HTTP

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getRawPath();
      String method = ex.getRequestMethod();
      requests.add(method + " " + path);
      for (Map.Entry<String, ErrorBody> e : errors.entrySet()) {
        if ((method + " " + path).startsWith(e.getKey())) {
          ErrorBody b = e.getValue();
          int status =
              dev.keycast.protocol.api.ErrorCode.fromCode(b.error()) == null
                  ? 500
                  : dev.keycast.protocol.api.ErrorCode.fromCode(b.error()).status();
          if (status == 503) {
            ex.getResponseHeaders().add("Retry-After", "2");
          }
          json(ex, status, b);
          return;
        }
      }
      for (Map.Entry<String, Map.Entry<Integer, String>> e : raw.entrySet()) {
        if ((method + " " + path).startsWith(e.getKey())) {
          byte[] b = e.getValue().getValue().getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(e.getValue().getKey(), b.length);
          ex.getResponseBody().write(b);
          return;
        }
      }
      String[] seg = path.substring(1).split("/");
      if (method.equals("GET") && path.equals("/v1/attestation")) {
        attestation(ex);
      } else if (method.equals("POST") && path.equals("/v1/sends")) {
        send(ex);
      } else if (path.equals("/v1/senders")) {
        senders(ex, method);
      } else if (method.equals("POST") && path.equals("/v1/recipients")) {
        register(ex);
      } else if (method.equals("POST") && path.equals("/v1/recipients/challenge")) {
        challenge(ex);
      } else if (method.equals("POST")
          && seg.length == 4
          && seg[1].equals("recipients")
          && seg[3].equals("sessions")) {
        session(ex, seg[2]);
      } else if (method.equals("GET")
          && seg[0].equals("v1")
          && seg.length >= 3
          && (seg[1].equals("recipients") || seg[1].equals("deliveries"))
          && !authorized(ex, seg[1].equals("recipients") ? seg[2] : null)) {
        return; // answered 401/403
      } else if (method.equals("GET") && seg.length == 3 && seg[1].equals("recipients")) {
        Registered r = recipients.get(seg[2]);
        if (r == null) {
          json(ex, 404, new ErrorBody("not_found", "no recipient " + seg[2]));
        } else {
          json(ex, 200, view(seg[2], r));
        }
      } else if (method.equals("GET")
          && seg.length == 4
          && seg[1].equals("recipients")
          && seg[3].equals("deliveries")) {
        page(ex, seg[2]);
      } else if (method.equals("GET") && seg.length == 3 && seg[1].equals("deliveries")) {
        Stored s = deliveries.get(seg[2]);
        if (s == null || !s.recipient().equals(sessions.get(bearer(ex)))) {
          json(ex, 404, new ErrorBody("not_found", "no delivery " + seg[2]));
        } else {
          ex.getResponseHeaders()
              .add(
                  "Content-Type",
                  s.format().startsWith("cms")
                      ? "application/pkcs7-mime"
                      : "application/vnd.keycast.hpke-envelope");
          ex.sendResponseHeaders(200, s.envelope().length);
          ex.getResponseBody().write(s.envelope());
        }
      } else if (method.equals("POST") && path.equals("/v1/dkdm-keys")) {
        dkdmKeyImport(ex);
      } else if (method.equals("GET") && seg.length == 3 && seg[1].equals("receipts")) {
        HostApi.ReceiptView v = receipts.get(seg[2]);
        if (v == null) {
          json(ex, 404, new ErrorBody("not_found", "no receipt " + seg[2]));
        } else {
          json(ex, 200, v);
        }
      } else {
        json(ex, 404, new ErrorBody("not_found", "unknown path " + path));
      }
    } catch (Exception e) {
      e.printStackTrace();
      try {
        json(ex, 500, new ErrorBody("internal_error", "fake host bug: " + e));
      } catch (IOException ignored) {
        // already answered
      }
    }
  }

  private static HostApi.Recipient view(String fp, Registered r) {
    return new HostApi.Recipient(
        fp, r.key() instanceof RsaRecipientKey ? "rsa" : "x25519", r.labels(), r.at(), 0);
  }

  private void attestation(HttpExchange ex) throws Exception {
    String q = ex.getRequestURI().getRawQuery();
    byte[] nonce = Base64Url.decode("nonce", q.substring("nonce=".length()), 64);
    if (wrongNonce) {
      nonce[0] ^= 1;
    }
    KeyBundle b = bundle();
    TestAttester.Doc doc =
        attester
            .doc(Instant.now().minusSeconds(1))
            .publicKey(b.receivePublicKeySpki())
            .userData(b.userData())
            .nonce(nonce);
    if (pcr0Override != null) {
      doc.pcr(0, pcr0Override);
    }
    byte[] signing = b.signingPublicKey();
    if (foreignSigningKeyInBundle) {
      signing = KeySet.generate(random).signingPublicKey();
    }
    json(
        ex,
        200,
        new EnclaveApi.AttestationResponse(
            Base64Url.encode(doc.encode()),
            new EnclaveApi.KeyBundle(
                b.keySetId(),
                Base64Url.encode(b.receivePublicKey()),
                Base64Url.encode(signing),
                lieAboutKmsKey != null ? lieAboutKmsKey : b.kmsKeyId(),
                null,
                new EnclaveApi.KmsKeyCheck(
                    lieThatTheKmsKeyIsLocked || !kmsKeyUnlocked, Base64Url.encode(kmsPolicySha256)),
                new EnclaveApi.SenderSetRef(
                    b.senderSet().orElseThrow().version(),
                    Base64Url.encode(b.senderSet().orElseThrow().sha256())),
                relayedSignerChain(b))));
  }

  /** The signer chain as this host relays it: the attested one, unless a knob makes it lie. */
  private List<String> relayedSignerChain(KeyBundle b) {
    if (b.kdmSignerChain().isEmpty()) {
      return null;
    }
    List<byte[]> chain =
        new ArrayList<>(swapKdmSignerChain ? Signers.OTHER.chainDer() : b.kdmSignerChain());
    if (alterKdmSignerChain) {
      byte[] leaf = chain.get(0).clone();
      leaf[leaf.length - 5] ^= 0x01; // inside the leaf's signature value
      chain.set(0, leaf);
    }
    return chain.stream().map(Base64Url::encode).toList();
  }

  private void register(HttpExchange ex) throws Exception {
    HostApi.RegisterRecipient req =
        Json.decode(ex.getRequestBody().readAllBytes(), 1 << 20, HostApi.RegisterRecipient.class);
    RecipientKey key;
    try {
      key = RecipientKeys.parse(req.key().getBytes(StandardCharsets.US_ASCII));
    } catch (dev.keycast.protocol.MalformedInputException e) {
      json(ex, 422, new ErrorBody("invalid_recipient", "recipient 0: " + e.getMessage()));
      return;
    }
    if (!proved(ex, key.fingerprint(), req.token(), req.proof())) {
      return;
    }
    Registered prev =
        recipients.put(
            key.fingerprint(),
            new Registered(
                key, req.labels() == null ? Map.of() : Map.copyOf(req.labels()), Instant.now()));
    json(ex, prev == null ? 201 : 200, view(key.fingerprint(), recipients.get(key.fingerprint())));
  }

  private void challenge(HttpExchange ex) throws Exception {
    RecipientProof.ChallengeRequest req =
        Json.decode(
            ex.getRequestBody().readAllBytes(), 1 << 20, RecipientProof.ChallengeRequest.class);
    RecipientKey key = RecipientKeys.parse(req.key().getBytes(StandardCharsets.US_ASCII));
    byte[] t = new byte[32];
    random.nextBytes(t);
    String token = Base64Url.encode(t);
    Instant expires = Instant.now().plusSeconds(300);
    if (key instanceof dev.keycast.protocol.envelope.X25519RecipientKey x) {
      byte[] value = new byte[32];
      random.nextBytes(value);
      challenges.put(token, new Challenged(key, value));
      dev.keycast.protocol.hpke.HpkeCiphertext c =
          dev.keycast.protocol.hpke.Hpke.seal(
              dev.keycast.protocol.hpke.HpkeSuite.KEYCAST_V1,
              x.publicKey(),
              RecipientProof.SEALED_RESPONSE_INFO,
              token.getBytes(StandardCharsets.US_ASCII),
              value,
              random);
      json(
          ex,
          200,
          new RecipientProof.Challenge(
              token,
              key.fingerprint(),
              expires,
              Base64Url.encode(c.enc()),
              Base64Url.encode(c.ciphertext())));
    } else {
      challenges.put(token, new Challenged(key, null));
      json(ex, 200, new RecipientProof.Challenge(token, key.fingerprint(), expires, null, null));
    }
  }

  /** Checks a proof like the real host (answers 401 and returns false when it fails). */
  private boolean proved(HttpExchange ex, String fingerprint, String token, String proof)
      throws Exception {
    if (token == null || proof == null) {
      json(ex, 401, new ErrorBody("proof_required", "token and proof are required"));
      return false;
    }
    Challenged c = challenges.remove(token);
    boolean ok = c != null && c.key().fingerprint().equals(fingerprint);
    if (ok) {
      byte[] answer = Base64Url.decode("proof", proof, 1024);
      ok =
          c.key() instanceof RsaRecipientKey rsa
              ? RecipientProof.verifyRsa(rsa.publicKey(), token, fingerprint, answer)
              : java.security.MessageDigest.isEqual(c.response(), answer);
    }
    if (!ok) {
      json(
          ex,
          401,
          new ErrorBody("proof_invalid", "the proof does not answer the challenge with this key"));
    }
    return ok;
  }

  private void session(HttpExchange ex, String fingerprint) throws Exception {
    RecipientProof.SessionRequest req =
        Json.decode(
            ex.getRequestBody().readAllBytes(), 1 << 20, RecipientProof.SessionRequest.class);
    if (!recipients.containsKey(fingerprint)) {
      json(ex, 404, new ErrorBody("not_found", "no recipient " + fingerprint));
      return;
    }
    if (!proved(ex, fingerprint, req.token(), req.proof())) {
      return;
    }
    byte[] t = new byte[32];
    random.nextBytes(t);
    String token = Base64Url.encode(t);
    sessions.put(token, fingerprint);
    json(ex, 200, new RecipientProof.Session(token, fingerprint, Instant.now().plusSeconds(900)));
  }

  private static String bearer(HttpExchange ex) {
    String a = ex.getRequestHeaders().getFirst("Authorization");
    return a == null || !a.startsWith("Bearer ") ? "" : a.substring(7);
  }

  /** Whether the request carries a session token (of {@code fingerprint} when not null); else answers. */
  private boolean authorized(HttpExchange ex, String fingerprint) throws IOException {
    String a = ex.getRequestHeaders().getFirst("Authorization");
    if (a == null) {
      json(
          ex, 401, new ErrorBody("session_required", "send Authorization: Bearer <session token>"));
      return false;
    }
    String fp = sessions.get(bearer(ex));
    if (fp == null) {
      json(ex, 401, new ErrorBody("session_invalid", "not a session token of this host"));
      return false;
    }
    if (fingerprint != null && !fingerprint.equals(fp)) {
      json(ex, 403, new ErrorBody("forbidden", "the session token is for another recipient"));
      return false;
    }
    return true;
  }

  private void page(HttpExchange ex, String fp) throws IOException {
    String after = null;
    int limit = 100;
    String q = ex.getRequestURI().getRawQuery();
    if (q != null) {
      for (String kv : q.split("&")) {
        if (kv.startsWith("after=")) {
          after = kv.substring(6);
        } else if (kv.startsWith("limit=")) {
          limit = Integer.parseInt(kv.substring(6));
        }
      }
    }
    limit = Math.min(limit, maxPage);
    List<HostApi.DeliverySummary> out = new ArrayList<>();
    for (Stored s : (after == null ? deliveries : deliveries.tailMap(after, false)).values()) {
      if (s.recipient().equals(fp)) {
        if (out.size() == limit) {
          break;
        }
        out.add(
            new HostApi.DeliverySummary(
                s.deliveryId(), s.sendId(), s.recipient(), s.format(), s.at()));
      }
    }
    String next = out.size() == limit ? out.getLast().deliveryId() : null;
    json(ex, 200, new HostApi.DeliveryPage(out, next));
  }

  private void senders(HttpExchange ex, String method) throws Exception {
    var set = senders;
    if (method.equals("POST")) {
      var u =
          dev.keycast.protocol.sender.SenderSetUpdate.fromJson(
              Json.decode(
                  ex.getRequestBody().readAllBytes(),
                  1 << 20,
                  dev.keycast.protocol.sender.SenderSetUpdate.Json.class));
      if (!set.hasOwner(u.owner()) || !u.signatureVerifies() || !u.keySetId().equals(keySet.id())) {
        json(ex, 403, new ErrorBody("owner_signature_invalid", "not an owner's statement"));
        return;
      }
      if (u.senderSet().version() <= set.version()) {
        json(ex, 409, new ErrorBody("sender_set_stale", "version"));
        return;
      }
      senders = set = u.senderSet();
    }
    var shown =
        lieAboutSenders
            ? set.withSender(
                dev.keycast.protocol.sender.SenderSigningKey.generate(random).publicKey())
            : set;
    json(
        ex,
        200,
        new EnclaveApi.SenderSetView(
            shown.version(),
            shown.owners().stream().map(k -> Base64Url.encode(k.raw())).toList(),
            shown.senders().stream().map(k -> Base64Url.encode(k.raw())).toList(),
            shown.senders().stream()
                .map(dev.keycast.protocol.sender.SenderKey::fingerprint)
                .toList(),
            Base64Url.encode(shown.digest()),
            null));
  }

  private void send(HttpExchange ex) throws Exception {
    EnclaveApi.SendPayload p =
        Json.decode(
            ex.getRequestBody().readAllBytes(),
            HostApi.MAX_REQUEST_BYTES,
            EnclaveApi.SendPayload.class);
    sendPayloads.add(p);
    if (p.version() != 1 || !EnclaveApi.SUITE_V1.equals(p.suite())) {
      json(ex, 400, new ErrorBody("unsupported_version", "version/suite"));
      return;
    }
    if (!keySet.id().equals(p.keySetId())) {
      json(ex, 409, new ErrorBody("wrong_key_set", "not " + keySet.id()));
      return;
    }
    byte[] policyBytes = Base64Url.decode("policy", p.policy(), SendPolicy.MAX_BYTES);
    byte[] enc = Base64Url.decode("enc", p.enc(), 32);
    byte[] ct = Base64Url.decode("ciphertext", p.ciphertext(), 70000);
    byte[] secret;
    byte[] raw = keySet.receivePrivateKey();
    try {
      secret =
          Hpke.open(
              HpkeSuite.KEYCAST_V1,
              X25519PrivateKey.fromRaw(raw),
              sendInfo(p.keySetId()),
              policyBytes,
              new HpkeCiphertext(enc, ct));
    } catch (DecryptionFailedException e) {
      json(ex, 400, new ErrorBody("decryption_failed", "decryption failed"));
      return;
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
    // as the enclave (SenderAuthorizer): a sender of the set signed exactly this send
    if (p.sender() == null) {
      json(ex, 401, new ErrorBody("sender_required", "no sender signature"));
      return;
    }
    var senderKey =
        dev.keycast.protocol.sender.SenderKey.of(
            "sender.key", Base64Url.decode("sender.key", p.sender().key(), 32));
    if (!senders.allowsSender(senderKey)) {
      json(ex, 403, new ErrorBody("sender_unknown", "not in the sender set"));
      return;
    }
    if (!dev.keycast.protocol.sender.SendSigner.statement(
            p, senderKey, Instant.ofEpochSecond(p.sender().timestamp()))
        .verifies(Base64Url.decode("sender.signature", p.sender().signature(), 64))) {
      json(ex, 401, new ErrorBody("sender_signature_invalid", "signature"));
      return;
    }
    openedSecrets.add(secret);
    openedPolicies.add(policyBytes);
    SendPolicy policy = SendPolicy.parse(policyBytes);
    byte[] encCt = SendCommand.concat(enc, ct);
    String sendId =
        HexFormat.of()
            .formatHex(
                Arrays.copyOf(
                    SendCommand.sha256(
                        SendCommand.concat(
                            "keycast/v1/send-id".getBytes(StandardCharsets.US_ASCII),
                            new byte[] {0},
                            encCt)),
                    16));
    Eligibility eligibility = new Eligibility(policy);
    List<Receipt.Delivery> dl = new ArrayList<>();
    List<Receipt.Skipped> sk = new ArrayList<>();
    List<HostApi.DeliverySummary> summaries = new ArrayList<>();
    List<EnclaveApi.Skipped> skippedApi = new ArrayList<>();
    Instant now = Instant.now();
    for (Registered r : recipients.values()) {
      boolean listed = policy.recipients().fingerprints().contains(r.key().fingerprint());
      List<X509Certificate> chain = r.key().certificateChain();
      if (!listed && (policy.recipients().anchors().isEmpty() || chain.isEmpty())) {
        continue; // the host attaches only listed recipients or certificate holders
      }
      Eligibility.Decision d = eligibility.decide(r.key().fingerprint(), chain, now, false);
      if (!d.eligible()) {
        sk.add(new Receipt.Skipped(r.key().fingerprint(), d.reason(), d.message()));
        skippedApi.add(new EnclaveApi.Skipped(r.key().fingerprint(), d.reason(), d.message()));
        continue;
      }
      DeliveryFormat<?> f =
          r.key() instanceof RsaRecipientKey && policy.rsaContent().equals("aes-256-cbc")
              ? CmsDeliveryFormat.AES_256_CBC
              : DeliveryFormats.defaultFor(r.key());
      DeliveryMetadata md =
          DeliveryMetadata.of(
                  policy.secretId(),
                  policy.sender(),
                  policy.notBefore(),
                  policy.notAfter(),
                  r.key().fingerprint())
              .withSender(senderKey.raw());
      byte[] env = f.seal(r.key(), md, secret, random);
      String id = deliveryId(sendId, r.key().fingerprint());
      deliveries.put(id, new Stored(id, sendId, r.key().fingerprint(), f.id(), env, now));
      dl.add(new Receipt.Delivery(r.key().fingerprint(), f.id(), id, SendCommand.sha256(env)));
      summaries.add(new HostApi.DeliverySummary(id, sendId, r.key().fingerprint(), f.id(), now));
    }
    byte[] pol =
        SendCommand.sha256(
            receiptOverOtherPolicy
                ? SendCommand.concat(policyBytes, new byte[] {' '})
                : policyBytes);
    Receipt receipt =
        new Receipt(
            Receipt.VERSION_WITH_SENDER,
            keySet.id(),
            sendId,
            Receipt.Kind.SEND,
            now,
            pol,
            SendCommand.sha256(encCt),
            dl,
            sk,
            new Receipt.Sender(
                HexFormat.of().formatHex(senderKey.raw()),
                Instant.ofEpochSecond(p.sender().timestamp())));
    byte[] cose = ReceiptSigner.sign(receipt, keySet);
    if (tamperReceipt) {
      cose[20] ^= 1;
    }
    receipts.put(sendId, new HostApi.ReceiptView(sendId, sendId, Base64Url.encode(cose)));
    json(
        ex,
        200,
        new HostApi.SendResult(
            sendId,
            policy.secretId(),
            sendId,
            Base64Url.encode(cose),
            summaries,
            skippedApi,
            false));
  }

  static byte[] sendInfo(String keySetId) {
    return SendCommand.concat(
        "keycast/v1/send".getBytes(StandardCharsets.US_ASCII),
        new byte[] {0},
        keySetId.getBytes(StandardCharsets.UTF_8));
  }

  /** Bodies of {@code POST /v1/dkdm-keys} as received, and the PKCS #8 keys they opened to. */
  final List<byte[]> dkdmKeyImportBodies = new CopyOnWriteArrayList<>();

  final List<byte[]> dkdmKeysOpened = new CopyOnWriteArrayList<>();

  /**
   * {@code POST /v1/dkdm-keys} as the host and enclave treat it (wire-format.md 10.6): the import
   * statement must verify under a sender of the set, and the key opens only with this key set's
   * receive key, the key-import info and the certificate's associated data.
   */
  private void dkdmKeyImport(HttpExchange ex) throws Exception {
    byte[] body = ex.getRequestBody().readAllBytes();
    dkdmKeyImportBodies.add(body);
    EnclaveApi.DkdmKeyImportRequest r =
        Json.decode(body, 1 << 20, EnclaveApi.DkdmKeyImportRequest.class);
    byte[] der = Base64Url.decode("certificate", r.certificate(), 8192);
    byte[] enc = Base64Url.decode("enc", r.enc(), 64);
    byte[] ct = Base64Url.decode("ciphertext", r.ciphertext(), 8192);
    dev.keycast.protocol.sender.SenderKey who =
        dev.keycast.protocol.sender.SenderKey.of(
            "key", Base64Url.decode("key", r.sender().key(), 32));
    boolean signed =
        senders.allowsSender(who)
            && new dev.keycast.protocol.sender.DkdmKeyImportStatement(
                    keySet.id(),
                    dev.keycast.protocol.crypto.Sha256.digest(der),
                    dev.keycast.protocol.crypto.Sha256.digest(enc, ct),
                    java.time.Instant.ofEpochSecond(r.sender().timestamp()),
                    who)
                .verifies(Base64Url.decode("signature", r.sender().signature(), 64));
    if (!signed) {
      json(
          ex,
          403,
          new ErrorBody("sender_signature_invalid", "the import statement does not verify"));
      return;
    }
    dkdmKeysOpened.add(
        dev.keycast.protocol.send.SendPayloadOpener.create(
                dev.keycast.protocol.send.SendPayloadParameters.keyImportV1(keySet.id()),
                keySet.receiveKeyAgreement())
            .open(dev.keycast.protocol.cinema.LegacyDkdmKeys.aad(der), enc, ct));
    java.security.cert.X509Certificate c =
        dev.keycast.protocol.cinema.LegacyDkdmKeys.certificate(der);
    json(
        ex,
        201,
        new EnclaveApi.DkdmKeyImportResponse(
            keySet.id(),
            dev.keycast.protocol.cinema.DcCertificates.thumbprintBase64(c),
            c.getSubjectX500Principal().getName(),
            c.getIssuerX500Principal().getName(),
            c.getSerialNumber().toString(),
            c.getNotAfter().toInstant().toString(),
            r.certificate(),
            null));
  }

  private static void json(HttpExchange ex, int status, Object body) throws IOException {
    byte[] b = Json.encode(body);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
  }
}
