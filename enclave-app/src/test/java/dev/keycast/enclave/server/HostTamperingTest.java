package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
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
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The host is the adversary (threat-model.md 3.1): these tests play a malicious host that talks to
 * the enclave's API directly, with everything a host controls (candidates, chains, the cleartext
 * policy copy, the sealed secret, replays, the send id of a forward), and check what the enclave
 * delivers. The sender's side is honest: a policy sealed as HPKE associated data.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class HostTamperingTest {
  Path tmp;
  FakeKeySetService keys;
  EnclaveServer server;
  EnclaveServer serverAfterTheWindow;
  TestKit.Http http;
  TestKit.Http httpAfterTheWindow;
  KeyBundle bundle;

  /** The sender's chosen recipients: one RSA key by fingerprint, one by the maker's CA + O=Cinema Co. */
  KeyPair listed;

  KeyPair makerCaKeys;
  X509Certificate makerCa;
  KeyPair certified;
  X509Certificate certifiedLeaf;

  /** The host's own keys. */
  KeyPair hostKey;

  X25519PrivateKey hostX25519;

  byte[] secret = "content key of reel 3".getBytes(StandardCharsets.UTF_8);
  byte[] policyBytes;
  EnclaveApi.SendPayload payload;

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("host-tampering-test");
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    MockAttester attester = MockAttester.create(tmp.resolve("mock-state"));
    server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics());
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());
    // The same key set and image, two days later: after the policy's not_after.
    Clock later = Clock.fixed(TestKit.NOW.plus(2, ChronoUnit.DAYS), ZoneOffset.UTC);
    serverAfterTheWindow =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            later,
            2,
            new EnclaveMetrics());
    TestKit.establishSenders(server, keys.keySet.id());
    TestKit.establishSenders(serverAfterTheWindow, keys.keySet.id());
    httpAfterTheWindow =
        new TestKit.Http(
            "http://127.0.0.1:" + ((TcpEndpoint) serverAfterTheWindow.endpoint()).port());

    listed = TestKit.rsa(2048);
    makerCaKeys = TestKit.rsa(2048);
    makerCa =
        TestKit.cert(
            "CN=Maker Root,O=Maker",
            makerCaKeys.getPublic(),
            "CN=Maker Root,O=Maker",
            makerCaKeys.getPrivate(),
            true);
    certified = TestKit.rsa(2048);
    certifiedLeaf =
        TestKit.cert(
            "CN=Projector 1,O=Cinema Co",
            certified.getPublic(),
            "CN=Maker Root,O=Maker",
            makerCaKeys.getPrivate(),
            false);
    hostKey = TestKit.rsa(2048);
    hostX25519 = TestKit.x25519();

    SendPolicy policy =
        TestKit.policy(
            "reel-3",
            List.of(TestKit.fp(listed.getPublic())),
            List.of(makerCa),
            Map.of("O", "Cinema Co"),
            false,
            5);
    policyBytes = policy.toJson();
    payload = TestKit.payload(bundle, policyBytes, secret);
  }

  @AfterAll
  void stop() {
    server.close();
    serverAfterTheWindow.close();
  }

  EnclaveApi.SendResponse send(List<EnclaveApi.Candidate> candidates) throws Exception {
    HttpResponse<String> r = http.post("/v1/send", new EnclaveApi.SendRequest(payload, candidates));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return json(r, EnclaveApi.SendResponse.class);
  }

  static String reasonFor(EnclaveApi.SendResponse s, String fingerprint) {
    return s.skipped().stream()
        .filter(k -> k.recipient().equals(fingerprint))
        .map(EnclaveApi.Skipped::reason)
        .findFirst()
        .orElse(null);
  }

  @Test
  void aKeyTheHostAddsIsNotDeliveredTo() throws Exception {
    EnclaveApi.SendResponse s =
        send(
            List.of(
                TestKit.candidate(listed.getPublic()),
                TestKit.candidate(hostKey.getPublic()),
                TestKit.candidate(hostX25519)));
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(listed.getPublic()));
    assertThat(reasonFor(s, TestKit.fp(hostKey.getPublic()))).isEqualTo(Eligibility.NOT_SELECTED);
    assertThat(reasonFor(s, hostX25519.publicKey().fingerprint()))
        .isEqualTo(Eligibility.NOT_SELECTED);
    // The signed receipt says the same: the host cannot make it list its key as delivered.
    Receipt receipt = ReceiptVerifier.verify(Base64Url.decode("r", s.receipt(), 1 << 24), bundle);
    assertThat(receipt.deliveries())
        .extracting(Receipt.Delivery::recipientFingerprint)
        .containsExactly(TestKit.fp(listed.getPublic()));
    assertThat(receipt.skipped()).hasSize(2);
  }

  @Test
  void aChainTheHostForgesUnderTheAnchorsNameIsRefused() throws Exception {
    // The host makes its own CA with the anchor's exact subject and issues itself a leaf whose
    // subject satisfies the selector; only the anchor's key can make the chain valid.
    KeyPair forgedCaKeys = TestKit.rsa(2048);
    X509Certificate forgedCa =
        TestKit.cert(
            "CN=Maker Root,O=Maker",
            forgedCaKeys.getPublic(),
            "CN=Maker Root,O=Maker",
            forgedCaKeys.getPrivate(),
            true);
    X509Certificate forgedLeaf =
        TestKit.cert(
            "CN=Projector 9,O=Cinema Co",
            hostKey.getPublic(),
            "CN=Maker Root,O=Maker",
            forgedCaKeys.getPrivate(),
            false);
    EnclaveApi.SendResponse s =
        send(
            List.of(
                TestKit.candidate(hostKey.getPublic(), forgedLeaf),
                TestKit.candidate(hostKey.getPublic(), forgedLeaf, forgedCa)));
    assertThat(s.deliveries()).isEmpty();
    assertThat(s.skipped())
        .extracting(EnclaveApi.Skipped::reason)
        .containsOnly(Eligibility.CHAIN_INVALID);
  }

  @Test
  void aGenuineLeafPresentedWithTheHostsKeyIsRefused() throws Exception {
    // The certificate is real, but the key offered beside it is the host's.
    EnclaveApi.Candidate swapped = TestKit.candidate(hostKey.getPublic(), certifiedLeaf);
    HttpResponse<String> r =
        http.post("/v1/send", new EnclaveApi.SendRequest(payload, List.of(swapped)));
    // The whole request is refused, naming the candidate: nothing is delivered to anyone.
    assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
    ErrorBody e = json(r, ErrorBody.class);
    assertThat(e.error()).isEqualTo(ErrorCode.INVALID_RECIPIENT.code());
    assertThat(e.message()).startsWith("candidates[0]:").contains("leaf");
  }

  @Test
  void aLeafOutsideTheSubjectSelectorIsRefused() throws Exception {
    KeyPair other = TestKit.rsa(2048);
    X509Certificate otherLeaf =
        TestKit.cert(
            "CN=Projector 2,O=Other Cinema",
            other.getPublic(),
            "CN=Maker Root,O=Maker",
            makerCaKeys.getPrivate(),
            false);
    EnclaveApi.SendResponse s =
        send(
            List.of(
                TestKit.candidate(other.getPublic(), otherLeaf),
                TestKit.candidate(certified.getPublic(), certifiedLeaf)));
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(certified.getPublic()));
    assertThat(reasonFor(s, TestKit.fp(other.getPublic()))).isEqualTo(Eligibility.SUBJECT_MISMATCH);
  }

  @Test
  void aPolicyTheHostRewritesDoesNotOpen() throws Exception {
    // The host adds its own fingerprint to the cleartext policy beside the payload.
    SendPolicy original = SendPolicy.parse(policyBytes);
    List<String> fps = new ArrayList<>(original.recipients().fingerprints());
    fps.add(TestKit.fp(hostKey.getPublic()));
    SendPolicy widened =
        new SendPolicy(
            original.version(),
            original.secretId(),
            original.sender(),
            original.notBefore(),
            original.notAfter(),
            new SendPolicy.RecipientSelector(
                fps, original.recipients().anchors(), original.recipients().subject()),
            original.lateRecipients(),
            original.maxRecipients(),
            original.rsaContent());
    EnclaveApi.SendPayload tampered =
        new EnclaveApi.SendPayload(
            payload.version(),
            payload.suite(),
            payload.keySetId(),
            Base64Url.encode(widened.toJson()),
            payload.enc(),
            payload.ciphertext(),
            payload.sender());
    HttpResponse<String> refused =
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(tampered, List.of(TestKit.candidate(hostKey.getPublic()))));
    // the sender's signature covers the policy (issue 23) ...
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(401);
    assertThat(json(refused, ErrorBody.class).error())
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID.code());
    // ... and so does HPKE: even a sender's own signature over the rewritten policy does not open
    HttpResponse<String> r =
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                dev.keycast.protocol.sender.SendSigner.sign(
                    tampered, TestKit.SENDER, java.time.Instant.now()),
                List.of(TestKit.candidate(hostKey.getPublic()))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo(ErrorCode.DECRYPTION_FAILED.code());
  }

  /**
   * The enclave keeps no state, so it cannot tell a replayed send from a retry: a replay is
   * answered again (same send id and delivery ids) but reaches only keys the sealed policy admits,
   * and only inside the policy's validity window. threat-model.md 3.1 states this limit.
   */
  @Test
  void aReplayedSendReachesOnlyWhatThePolicyAdmitsAndOnlyInsideItsWindow() throws Exception {
    EnclaveApi.SendResponse first = send(List.of(TestKit.candidate(listed.getPublic())));
    EnclaveApi.SendResponse replay =
        send(
            List.of(TestKit.candidate(listed.getPublic()), TestKit.candidate(hostKey.getPublic())));
    assertThat(replay.sendId()).isEqualTo(first.sendId());
    assertThat(replay.deliveries())
        .extracting(EnclaveApi.Delivery::deliveryId)
        .containsExactlyElementsOf(
            first.deliveries().stream().map(EnclaveApi.Delivery::deliveryId).toList());
    assertThat(reasonFor(replay, TestKit.fp(hostKey.getPublic())))
        .isEqualTo(Eligibility.NOT_SELECTED);
    // The replayed delivery is a new envelope of the same secret for the same recipient.
    byte[] env = Base64Url.decode("e", replay.deliveries().getFirst().envelope(), 1 << 20);
    assertThat(
            CmsDeliveryFormat.AES_256_GCM.open((RSAPrivateKey) listed.getPrivate(), env).secret())
        .isEqualTo(secret);

    // the sender's signature of two days ago is outside the later enclave's window (issue 23) ...
    HttpResponse<String> stale =
        httpAfterTheWindow.post(
            "/v1/send",
            new EnclaveApi.SendRequest(payload, List.of(TestKit.candidate(listed.getPublic()))));
    assertThat(stale.statusCode()).as(stale.body()).isEqualTo(401);
    assertThat(json(stale, ErrorBody.class).error())
        .isEqualTo(ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW.code());
    // ... and a fresh signature does not stretch the policy's own window
    EnclaveApi.SendPayload resigned =
        dev.keycast.protocol.sender.SendSigner.sign(
            payload, TestKit.SENDER, TestKit.NOW.plus(2, ChronoUnit.DAYS));
    HttpResponse<String> late =
        httpAfterTheWindow.post(
            "/v1/send",
            new EnclaveApi.SendRequest(resigned, List.of(TestKit.candidate(listed.getPublic()))));
    assertThat(late.statusCode()).as(late.body()).isEqualTo(422);
    assertThat(json(late, ErrorBody.class).error())
        .isEqualTo(ErrorCode.POLICY_NOT_VALID_NOW.code());
  }

  @Test
  void aSealedSecretTheHostAltersDoesNotOpen() throws Exception {
    EnclaveApi.SendResponse s = send(List.of(TestKit.candidate(listed.getPublic())));
    byte[] sealed = Base64Url.decode("s", s.sealedSecret(), 1 << 20);
    for (int i : new int[] {0, sealed.length / 2, sealed.length - 1}) {
      byte[] flipped = sealed.clone();
      flipped[i] ^= 0x01;
      HttpResponse<String> r =
          http.post(
              "/v1/forward",
              new EnclaveApi.ForwardRequest(
                  s.sendId(),
                  Base64Url.encode(policyBytes),
                  Base64Url.encode(flipped),
                  List.of(TestKit.candidate(listed.getPublic()))));
      assertThat(r.statusCode()).as("byte %d: %s", i, r.body()).isBetween(400, 499);
      assertThat(r.body()).doesNotContain(Base64Url.encode(secret));
    }
  }

  @Test
  void aForwardOfAPolicyWithoutLateRecipientsDeliversNothingWhateverTheHostClaims()
      throws Exception {
    EnclaveApi.SendResponse s = send(List.of());
    KeyPair lateComer = TestKit.rsa(2048);
    X509Certificate lateLeaf =
        TestKit.cert(
            "CN=Projector 3,O=Cinema Co",
            lateComer.getPublic(),
            "CN=Maker Root,O=Maker",
            makerCaKeys.getPrivate(),
            false);
    HttpResponse<String> r =
        http.post(
            "/v1/forward",
            new EnclaveApi.ForwardRequest(
                s.sendId(),
                Base64Url.encode(policyBytes),
                s.sealedSecret(),
                List.of(
                    TestKit.candidate(lateComer.getPublic(), lateLeaf),
                    TestKit.candidate(hostKey.getPublic()))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.ForwardResponse f = json(r, EnclaveApi.ForwardResponse.class);
    assertThat(f.deliveries()).isEmpty();
    assertThat(f.skipped()).hasSize(2);
    assertThat(f.skipped().getFirst().reason()).isEqualTo(Eligibility.LATE_NOT_ALLOWED);
    assertThat(f.skipped().get(1).reason())
        .isIn(Eligibility.LATE_NOT_ALLOWED, Eligibility.NOT_SELECTED);
  }
}
