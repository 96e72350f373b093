package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.OpenedDelivery;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.SealedSecret;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateKey;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** The enclave API end to end over TCP with the JDK HTTP client, against a ready enclave. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class EnclaveServerTest {
  Path tmp;

  FakeKeySetService keys;
  MockAttester attester;
  EnclaveServer server;
  TestKit.Http http;
  KeyBundle bundle;

  // recipients: RSA by fingerprint, RSA by anchor + subject, X25519 by fingerprint, X25519 not
  // listed
  KeyPair rsaListed;
  KeyPair caKeys;
  X509Certificate ca;
  KeyPair rsaCertified;
  X509Certificate rsaCertifiedLeaf;
  X25519PrivateKey xListed;
  X25519PrivateKey xUnlisted;

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("enclave-server-test");
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    attester = MockAttester.create(tmp.resolve("mock-state"));
    server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics());
    TestKit.establishSenders(server, keys.keySet.id());
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());
    rsaListed = TestKit.rsa(2048);
    caKeys = TestKit.rsa(2048);
    ca =
        TestKit.cert(
            "CN=Maker Root,O=Maker",
            caKeys.getPublic(),
            "CN=Maker Root,O=Maker",
            caKeys.getPrivate(),
            true);
    rsaCertified = TestKit.rsa(2048);
    rsaCertifiedLeaf =
        TestKit.cert(
            "CN=Projector 7,O=Cinema Co",
            rsaCertified.getPublic(),
            "CN=Maker Root,O=Maker",
            caKeys.getPrivate(),
            false);
    xListed = TestKit.x25519();
    xUnlisted = TestKit.x25519();
  }

  @AfterAll
  void stop() {
    server.close();
  }

  SendPolicy mixedPolicy(boolean late, int max) throws Exception {
    return TestKit.policy(
        "movie-42",
        List.of(TestKit.fp(rsaListed.getPublic()), xListed.publicKey().fingerprint()),
        List.of(ca),
        Map.of("O", "Cinema Co"),
        late,
        max);
  }

  List<EnclaveApi.Candidate> mixedCandidates() throws Exception {
    return List.of(
        TestKit.candidate(rsaListed.getPublic()),
        TestKit.candidate(rsaCertified.getPublic(), rsaCertifiedLeaf, ca),
        TestKit.candidate(xListed),
        TestKit.candidate(xUnlisted),
        TestKit.candidate(xListed)); // a duplicate: delivered once
  }

  @Test
  void healthAndReady() throws Exception {
    assertThat(http.get("/v1/health").body()).isEqualTo("{\"status\":\"ok\"}");
    HttpResponse<String> r = http.get("/v1/ready");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r, EnclaveApi.Readiness.class).keySetId()).isEqualTo(bundle.keySetId());
  }

  @Test
  void attestationVerifiesWithTheMockRootAndBindsTheKeyBundle() throws Exception {
    byte[] nonce = new byte[64];
    new SecureRandom().nextBytes(nonce);
    HttpResponse<String> r = http.get("/v1/attestation?nonce=" + Base64Url.encode(nonce));
    assertThat(r.statusCode()).isEqualTo(200);
    EnclaveApi.AttestationResponse a = json(r, EnclaveApi.AttestationResponse.class);
    // bundle version 4: the key set's bundle with the sender set in force (issue 23)
    KeyBundle attested = server.services().senders().attested(bundle);
    assertThat(attested.senderSet()).isPresent();
    assertThat(a.keyBundle()).isEqualTo(AttestationService.apiBundle(attested));
    Path state = attester.stateDirectory();
    VerificationPolicy policy =
        VerificationPolicy.builder()
            .trustRoots(
                List.of(
                    TrustRoot.fromPem(
                        "mock", Files.readAllBytes(state.resolve(MockAttester.ROOT_FILE)))))
            .expectedPcrs(
                ExpectedPcrs.parseJson(
                    Files.readAllBytes(state.resolve(MockAttester.MEASUREMENTS_FILE))))
            .expectedNonce(nonce)
            .expectedUserData(attested.userData())
            .expectedPublicKey(bundle.receivePublicKeySpki())
            .build();
    assertThat(
            AttestationVerifier.create(policy).verify(Base64Url.decode("d", a.document(), 1 << 20)))
        .isNotNull();
  }

  @Test
  void attestationRejectsALongNonce() throws Exception {
    HttpResponse<String> r = http.get("/v1/attestation?nonce=" + Base64Url.encode(new byte[65]));
    assertError(r, ErrorCode.MALFORMED_REQUEST);
  }

  @Test
  void sendDeliversToEligibleRecipientsAndSignsAReceipt() throws Exception {
    byte[] secret = "the content key of movie 42".getBytes(StandardCharsets.UTF_8);
    byte[] policyBytes = mixedPolicy(true, 10).toJson();
    EnclaveApi.SendPayload payload = TestKit.payload(bundle, policyBytes, secret);
    HttpResponse<String> r =
        http.post("/v1/send", new EnclaveApi.SendRequest(payload, mixedCandidates()));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.SendResponse s = json(r, EnclaveApi.SendResponse.class);

    byte[] enc = Base64Url.decode("enc", payload.enc(), 64);
    byte[] ct = Base64Url.decode("ct", payload.ciphertext(), 1 << 20);
    assertThat(s.sendId()).isEqualTo(SendService.sendId(enc, ct)).hasSize(32);
    assertThat(s.receiptId()).isEqualTo(s.sendId());
    assertThat(s.secretId()).isEqualTo("movie-42");
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(
            TestKit.fp(rsaListed.getPublic()),
            TestKit.fp(rsaCertified.getPublic()),
            xListed.publicKey().fingerprint());
    assertThat(s.skipped())
        .singleElement()
        .satisfies(
            k -> {
              assertThat(k.recipient()).isEqualTo(xUnlisted.publicKey().fingerprint());
              assertThat(k.reason()).isEqualTo(Eligibility.NOT_SELECTED);
            });

    for (EnclaveApi.Delivery d : s.deliveries()) {
      assertThat(d.deliveryId()).isEqualTo(SendService.deliveryId(s.sendId(), d.recipient()));
      byte[] env = Base64Url.decode("envelope", d.envelope(), 1 << 20);
      OpenedDelivery opened;
      if (d.recipient().equals(xListed.publicKey().fingerprint())) {
        assertThat(d.format()).isEqualTo(HpkeDeliveryFormat.ID);
        opened = HpkeDeliveryFormat.INSTANCE.open(xListed, env);
      } else {
        assertThat(d.format()).isEqualTo("cms-aes256gcm-v1");
        KeyPair kp =
            d.recipient().equals(TestKit.fp(rsaListed.getPublic())) ? rsaListed : rsaCertified;
        opened = CmsDeliveryFormat.AES_256_GCM.open((RSAPrivateKey) kp.getPrivate(), env);
      }
      assertThat(opened.secret()).isEqualTo(secret);
      assertThat(opened.metadata().secretId()).isEqualTo("movie-42");
      assertThat(opened.metadata().senderLabel()).isEqualTo("Studio");
      assertThat(opened.metadata().recipientFingerprint()).isEqualTo(d.recipient());
    }

    Receipt receipt =
        ReceiptVerifier.verify(Base64Url.decode("receipt", s.receipt(), 1 << 24), bundle);
    assertThat(receipt.kind()).isEqualTo(Receipt.Kind.SEND);
    assertThat(receipt.sendId()).isEqualTo(s.sendId());
    assertThat(receipt.policySha256())
        .isEqualTo(dev.keycast.protocol.crypto.Sha256.digest(policyBytes));
    assertThat(receipt.payloadSha256()).isEqualTo(SendService.payloadSha256(enc, ct));
    assertThat(receipt.deliveries()).hasSize(3);
    for (int i = 0; i < 3; i++) {
      Receipt.Delivery rd = receipt.deliveries().get(i);
      EnclaveApi.Delivery d = s.deliveries().get(i);
      assertThat(rd.recipientFingerprint()).isEqualTo(d.recipient());
      assertThat(rd.deliveryId()).isEqualTo(d.deliveryId());
      assertThat(rd.envelopeSha256())
          .isEqualTo(
              dev.keycast.protocol.crypto.Sha256.digest(
                  Base64Url.decode("e", d.envelope(), 1 << 20)));
    }
    assertThat(receipt.skipped())
        .extracting(Receipt.Skipped::reasonCode)
        .containsExactly(Eligibility.NOT_SELECTED);

    SealedSecret sealed = SealedSecret.parse(Base64Url.decode("s", s.sealedSecret(), 1 << 20));
    assertThat(sealed.open(keys.keySet, policyBytes)).isEqualTo(secret);

    // a retried payload has the same send id and delivery ids
    EnclaveApi.SendResponse again =
        json(
            http.post("/v1/send", new EnclaveApi.SendRequest(payload, mixedCandidates())),
            EnclaveApi.SendResponse.class);
    assertThat(again.sendId()).isEqualTo(s.sendId());
    assertThat(again.deliveries())
        .extracting(EnclaveApi.Delivery::deliveryId)
        .containsExactlyElementsOf(
            s.deliveries().stream().map(EnclaveApi.Delivery::deliveryId).toList());
  }

  @Test
  void cbcPolicyDeliversCmsEnvelopedData() throws Exception {
    byte[] secret = {1, 2, 3};
    SendPolicy p = mixedPolicy(false, 10);
    SendPolicy cbc =
        new SendPolicy(
            1,
            p.secretId(),
            p.sender(),
            p.notBefore(),
            p.notAfter(),
            p.recipients(),
            false,
            10,
            SendPolicy.CONTENT_AES_256_CBC);
    HttpResponse<String> r =
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                TestKit.payload(bundle, cbc.toJson(), secret),
                List.of(TestKit.candidate(rsaListed.getPublic()))));
    EnclaveApi.Delivery d = json(r, EnclaveApi.SendResponse.class).deliveries().getFirst();
    assertThat(d.format()).isEqualTo("cms-aes256cbc-v1");
    assertThat(
            CmsDeliveryFormat.AES_256_CBC
                .open(
                    (RSAPrivateKey) rsaListed.getPrivate(),
                    Base64Url.decode("e", d.envelope(), 1 << 20))
                .secret())
        .isEqualTo(secret);
  }

  @Test
  void forwardDeliversToLateRecipients() throws Exception {
    byte[] secret = "late key".getBytes(StandardCharsets.UTF_8);
    byte[] policyBytes = mixedPolicy(true, 10).toJson();
    EnclaveApi.SendResponse s =
        json(
            http.post(
                "/v1/send",
                new EnclaveApi.SendRequest(
                    TestKit.payload(bundle, policyBytes, secret),
                    List.of(TestKit.candidate(rsaListed.getPublic())))),
            EnclaveApi.SendResponse.class);

    EnclaveApi.ForwardRequest fwd =
        new EnclaveApi.ForwardRequest(
            s.sendId(),
            Base64Url.encode(policyBytes),
            s.sealedSecret(),
            List.of(TestKit.candidate(xListed), TestKit.candidate(xUnlisted)));
    HttpResponse<String> r = http.post("/v1/forward", fwd);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.ForwardResponse f = json(r, EnclaveApi.ForwardResponse.class);
    assertThat(f.sendId()).isEqualTo(s.sendId());
    assertThat(f.receiptId())
        .isEqualTo(
            SendService.forwardReceiptId(s.sendId(), List.of(xListed.publicKey().fingerprint())));
    EnclaveApi.Delivery d = f.deliveries().getFirst();
    assertThat(f.deliveries()).hasSize(1);
    assertThat(
            HpkeDeliveryFormat.INSTANCE
                .open(xListed, Base64Url.decode("e", d.envelope(), 1 << 20))
                .secret())
        .isEqualTo(secret);
    assertThat(f.skipped())
        .extracting(EnclaveApi.Skipped::reason)
        .containsExactly(Eligibility.NOT_SELECTED);
    Receipt receipt = ReceiptVerifier.verify(Base64Url.decode("r", f.receipt(), 1 << 24), bundle);
    assertThat(receipt.kind()).isEqualTo(Receipt.Kind.FORWARD);
    assertThat(receipt.payloadSha256())
        .isEqualTo(
            dev.keycast.protocol.crypto.Sha256.digest(
                Base64Url.decode("s", s.sealedSecret(), 1 << 20)));

    // another policy is policy_mismatch
    byte[] other = mixedPolicy(false, 10).toJson();
    assertError(
        http.post(
            "/v1/forward",
            new EnclaveApi.ForwardRequest(
                s.sendId(), Base64Url.encode(other), s.sealedSecret(), fwd.candidates())),
        ErrorCode.POLICY_MISMATCH);
  }

  @Test
  void forwardRespectsAPolicyWithoutLateRecipients() throws Exception {
    byte[] policyBytes = mixedPolicy(false, 10).toJson();
    EnclaveApi.SendResponse s =
        json(
            http.post(
                "/v1/send",
                new EnclaveApi.SendRequest(
                    TestKit.payload(bundle, policyBytes, new byte[] {7}), List.of())),
            EnclaveApi.SendResponse.class);
    EnclaveApi.ForwardResponse f =
        json(
            http.post(
                "/v1/forward",
                new EnclaveApi.ForwardRequest(
                    s.sendId(),
                    Base64Url.encode(policyBytes),
                    s.sealedSecret(),
                    List.of(TestKit.candidate(xListed)))),
            EnclaveApi.ForwardResponse.class);
    assertThat(f.deliveries()).isEmpty();
    assertThat(f.skipped())
        .extracting(EnclaveApi.Skipped::reason)
        .containsExactly(Eligibility.LATE_NOT_ALLOWED);
  }

  @Test
  void malformedJsonIs400() throws Exception {
    assertError(http.post("/v1/send", "{\"payload\": [1,"), ErrorCode.MALFORMED_REQUEST);
    assertError(http.post("/v1/send", "{\"unknown\": 1}"), ErrorCode.MALFORMED_REQUEST);
    assertError(http.post("/v1/send", ""), ErrorCode.MALFORMED_REQUEST);
  }

  @Test
  void everyDecryptionFailureHasTheSameAnswer() throws Exception {
    byte[] policyBytes = mixedPolicy(false, 10).toJson();
    EnclaveApi.SendPayload good = TestKit.payload(bundle, policyBytes, new byte[] {42});
    FakeKeySetService otherKeys = new FakeKeySetService();
    EnclaveApi.SendPayload wrongKey =
        TestKit.payload(
            otherKeys.keySet.bundle(FakeKeySetService.KMS_KEY_ID), policyBytes, new byte[] {42});
    wrongKey =
        new EnclaveApi.SendPayload(
            1,
            good.suite(),
            good.keySetId(),
            wrongKey.policy(),
            wrongKey.enc(),
            wrongKey.ciphertext());
    EnclaveApi.SendPayload flippedCt =
        new EnclaveApi.SendPayload(
            1, good.suite(), good.keySetId(), good.policy(), good.enc(), flip(good.ciphertext()));
    EnclaveApi.SendPayload flippedEnc =
        new EnclaveApi.SendPayload(
            1, good.suite(), good.keySetId(), good.policy(), flip(good.enc()), good.ciphertext());
    EnclaveApi.SendPayload otherPolicy =
        new EnclaveApi.SendPayload(
            1,
            good.suite(),
            good.keySetId(),
            Base64Url.encode(mixedPolicy(true, 10).toJson()),
            good.enc(),
            good.ciphertext());
    EnclaveApi.SendPayload truncatedEnc =
        new EnclaveApi.SendPayload(
            1,
            good.suite(),
            good.keySetId(),
            good.policy(),
            Base64Url.encode(new byte[31]),
            good.ciphertext());
    assertThat(http.post("/v1/send", new EnclaveApi.SendRequest(good, List.of())).statusCode())
        .isEqualTo(200);
    String first = null;
    for (EnclaveApi.SendPayload bad :
        List.of(wrongKey, flippedCt, flippedEnc, otherPolicy, truncatedEnc)) {
      // signed by the sender (a host's changes fail the signature first: SenderIdentityTest)
      bad =
          dev.keycast.protocol.sender.SendSigner.sign(bad, TestKit.SENDER, java.time.Instant.now());
      HttpResponse<String> r = http.post("/v1/send", new EnclaveApi.SendRequest(bad, List.of()));
      assertError(r, ErrorCode.DECRYPTION_FAILED);
      if (first == null) {
        first = r.body();
      }
      assertThat(r.body()).isEqualTo(first);
    }
  }

  @Test
  void unknownVersionOrSuiteIsUnsupported() throws Exception {
    EnclaveApi.SendPayload good =
        TestKit.payload(bundle, mixedPolicy(false, 10).toJson(), new byte[] {1});
    assertError(
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                new EnclaveApi.SendPayload(
                    2, good.suite(), good.keySetId(), good.policy(), good.enc(), good.ciphertext()),
                List.of())),
        ErrorCode.UNSUPPORTED_VERSION);
    assertError(
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                new EnclaveApi.SendPayload(
                    1,
                    "DHKEM(P-256,HKDF-SHA256)/HKDF-SHA256/AES-128-GCM",
                    good.keySetId(),
                    good.policy(),
                    good.enc(),
                    good.ciphertext()),
                List.of())),
        ErrorCode.UNSUPPORTED_VERSION);
  }

  @Test
  void wrongKeySetIs409() throws Exception {
    EnclaveApi.SendPayload good =
        TestKit.payload(bundle, mixedPolicy(false, 10).toJson(), new byte[] {1});
    String other = "ks-" + "0".repeat(32);
    assertError(
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                new EnclaveApi.SendPayload(
                    1, good.suite(), other, good.policy(), good.enc(), good.ciphertext()),
                List.of())),
        ErrorCode.WRONG_KEY_SET);
  }

  @Test
  void tooManyEligibleRecipientsIs422() throws Exception {
    EnclaveApi.SendPayload p =
        TestKit.payload(bundle, mixedPolicy(false, 2).toJson(), new byte[] {1});
    HttpResponse<String> r =
        http.post("/v1/send", new EnclaveApi.SendRequest(p, mixedCandidates()));
    assertError(r, ErrorCode.TOO_MANY_RECIPIENTS);
    // two eligible is within the limit
    assertThat(
            http.post("/v1/send", new EnclaveApi.SendRequest(p, mixedCandidates().subList(2, 5)))
                .statusCode())
        .isEqualTo(200);
  }

  @Test
  void invalidRecipientIs422NamingTheIndex() throws Exception {
    EnclaveApi.SendPayload p =
        TestKit.payload(bundle, mixedPolicy(false, 10).toJson(), new byte[] {1});
    KeyPair small = TestKit.rsa(1024);
    List<EnclaveApi.Candidate> weak =
        List.of(TestKit.candidate(xListed), TestKit.candidate(small.getPublic()));
    HttpResponse<String> r = http.post("/v1/send", new EnclaveApi.SendRequest(p, weak));
    assertError(r, ErrorCode.INVALID_RECIPIENT);
    assertThat(json(r, ErrorBody.class).message()).startsWith("candidates[1]:").contains("1024");

    List<EnclaveApi.Candidate> garbage =
        List.of(new EnclaveApi.Candidate(Base64Url.encode(new byte[] {1, 2, 3}), null));
    r = http.post("/v1/send", new EnclaveApi.SendRequest(p, garbage));
    assertError(r, ErrorCode.INVALID_RECIPIENT);
    assertThat(json(r, ErrorBody.class).message()).startsWith("candidates[0]:");

    // a chain whose leaf carries another key
    List<EnclaveApi.Candidate> swapped =
        List.of(
            TestKit.candidate(xListed),
            TestKit.candidate(rsaListed.getPublic(), rsaCertifiedLeaf, ca));
    r = http.post("/v1/send", new EnclaveApi.SendRequest(p, swapped));
    assertError(r, ErrorCode.INVALID_RECIPIENT);
    assertThat(json(r, ErrorBody.class).message()).startsWith("candidates[1]:").contains("leaf");
  }

  @Test
  void validateReportsEachCandidate() throws Exception {
    KeyPair small = TestKit.rsa(1024);
    HttpResponse<String> r =
        http.post(
            "/v1/recipients/validate",
            new EnclaveApi.ValidateRequest(
                List.of(
                    TestKit.candidate(rsaCertified.getPublic(), rsaCertifiedLeaf, ca),
                    TestKit.candidate(small.getPublic()),
                    TestKit.candidate(xListed))));
    assertThat(r.statusCode()).isEqualTo(200);
    List<EnclaveApi.RecipientCheck> c = json(r, EnclaveApi.ValidateResponse.class).recipients();
    assertThat(c).extracting(EnclaveApi.RecipientCheck::valid).containsExactly(true, false, true);
    assertThat(c.get(0).kind()).isEqualTo("rsa-2048");
    assertThat(c.get(0).fingerprint()).isEqualTo(TestKit.fp(rsaCertified.getPublic()));
    assertThat(c.get(2).kind()).isEqualTo("x25519");
    assertThat(c.get(1).error()).contains("1024");
  }

  @Test
  void sendOutsideTheWindowIs422() throws Exception {
    SendPolicy p = mixedPolicy(false, 10);
    SendPolicy expired =
        new SendPolicy(
            1,
            p.secretId(),
            p.sender(),
            Instant.parse("2020-01-01T00:00:00Z"),
            Instant.parse("2020-01-02T00:00:00Z"),
            p.recipients(),
            false,
            10,
            null);
    assertError(
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                TestKit.payload(bundle, expired.toJson(), new byte[] {1}), List.of())),
        ErrorCode.POLICY_NOT_VALID_NOW);
  }

  @Test
  void unknownPathAndWrongMethod() throws Exception {
    assertError(http.get("/v1/nothing"), ErrorCode.NOT_FOUND);
    assertError(http.get("/v1/send"), ErrorCode.METHOD_NOT_ALLOWED);
  }

  @Test
  void keysetEndpointsMapKeySetFailures() throws Exception {
    EnclaveApi.AwsCredentials creds =
        new EnclaveApi.AwsCredentials("AKIA", "secret-value", "token", null);
    assertError(
        http.post("/v1/keyset/init", new EnclaveApi.InitRequest("arn:key", "eu-west-1", creds)),
        ErrorCode.ALREADY_INITIALIZED);
    keys.unsealFailure = new KeySetException(ErrorCode.KMS_ACCESS_DENIED, "KMS refused Decrypt");
    try {
      HttpResponse<String> r =
          http.post(
              "/v1/keyset/unseal",
              new EnclaveApi.UnsealRequest(Base64Url.encode(new byte[] {1}), "eu-west-1", creds));
      assertError(r, ErrorCode.KMS_ACCESS_DENIED);
      assertThat(r.statusCode()).isEqualTo(502);
    } finally {
      keys.unsealFailure = null;
    }
    HttpResponse<String> ok =
        http.post(
            "/v1/keyset/unseal",
            new EnclaveApi.UnsealRequest(Base64Url.encode(new byte[] {1}), "eu-west-1", creds));
    assertThat(ok.statusCode()).isEqualTo(200);
    EnclaveApi.KeySetResponse k = json(ok, EnclaveApi.KeySetResponse.class);
    assertThat(k.sealedKeySet()).isNull();
    assertThat(k.keyBundle().keySetId()).isEqualTo(bundle.keySetId());
    assertThat(http.post("/v1/credentials", new EnclaveApi.CredentialsRequest(creds)).statusCode())
        .isEqualTo(204);
    assertThat(keys.credentials).isEqualTo(creds);
    assertError(http.post("/v1/credentials", "{}"), ErrorCode.MALFORMED_REQUEST);
  }

  @Test
  void metricsCountRequestsWithoutFingerprints() throws Exception {
    byte[] policyBytes = mixedPolicy(false, 10).toJson();
    http.post(
        "/v1/send",
        new EnclaveApi.SendRequest(
            TestKit.payload(bundle, policyBytes, new byte[] {5}), mixedCandidates()));
    HttpResponse<String> r = http.get("/v1/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
    String m = r.body();
    assertThat(m)
        .contains("keycast_enclave_requests_total{route=\"/v1/send\",status=\"200\"}")
        .contains("keycast_enclave_request_seconds_bucket{route=\"/v1/send\",le=\"+Inf\"}")
        .contains("keycast_enclave_deliveries_total{format=\"hpke-x25519-v1\"}")
        .contains("keycast_enclave_skipped_total{reason=\"not_selected\"}")
        .contains("keycast_enclave_fanout_recipients_count");
    assertThat(m)
        .doesNotContain(xListed.publicKey().fingerprint())
        .doesNotContain(bundle.keySetId())
        .doesNotContain("movie-42");
  }

  static String flip(String b64) throws Exception {
    byte[] b = Base64Url.decode("x", b64, 1 << 20);
    b[b.length / 2] ^= 1;
    return Base64Url.encode(b);
  }

  static void assertError(HttpResponse<String> r, ErrorCode code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.status());
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(json(r, ErrorBody.class).error()).as(r.body()).isEqualTo(code.code());
  }
}
