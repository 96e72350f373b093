package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.sender.SendSigner;
import dev.keycast.protocol.sender.SenderSet;
import dev.keycast.protocol.sender.SenderSetUpdate;
import dev.keycast.protocol.sender.SenderSigningKey;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 23, sender identity: a malicious host that reaches the enclave's API directly passes on
 * sends that a studio did not sign, and plays with the sender set it stores. Each test is named
 * after its attack; each send refused here was delivered before the enclave checked senders.
 */
@Timeout(60)
class SenderIdentityTest {
  FakeKeySetService keys;
  KeyBundle bundle;
  EnclaveServer server;
  TestKit.Http http;
  X25519PrivateKey recipient = TestKit.x25519();
  byte[] policy;
  EnclaveApi.SenderSetView genesis;

  @BeforeEach
  void start() throws Exception {
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            MockAttester.create(Files.createTempDirectory("sender-identity").resolve("mock")),
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics());
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());
    genesis = TestKit.establishSenders(server, keys.keySet.id());
    policy =
        TestKit.policy(
                "reel-1",
                List.of(recipient.publicKey().fingerprint()),
                List.of(),
                Map.of(),
                false,
                1)
            .toJson();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  HttpResponse<String> send(EnclaveApi.SendPayload p) throws Exception {
    return http.post(
        "/v1/send", new EnclaveApi.SendRequest(p, List.of(TestKit.candidate(recipient))));
  }

  static void assertRefused(HttpResponse<String> r, ErrorCode code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.status());
    ErrorBody e = json(r, ErrorBody.class);
    assertThat(e.error()).isEqualTo(code.code());
    assertThat(e.message()).isNotBlank().doesNotContain("\n");
    assertThat(r.body()).doesNotContain("deliveries").doesNotContain("sealed_secret");
  }

  @Test
  void theSignedSendOfAKnownSenderIsDelivered() throws Exception {
    HttpResponse<String> r = send(TestKit.payload(bundle, policy, new byte[] {1}));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(json(r, EnclaveApi.SendResponse.class).deliveries()).hasSize(1);
  }

  @Test
  void sendWithNoSignatureIsRefused() throws Exception {
    assertRefused(
        send(TestKit.unsignedPayload(bundle, policy, new byte[] {1})), ErrorCode.SENDER_REQUIRED);
  }

  @Test
  void sendSignedByAnUnknownSenderKeyIsRefused() throws Exception {
    SenderSigningKey hosts = SenderSigningKey.generate(new SecureRandom());
    assertRefused(
        send(
            SendSigner.sign(
                TestKit.unsignedPayload(bundle, policy, new byte[] {1}), hosts, Instant.now())),
        ErrorCode.SENDER_UNKNOWN);
  }

  @Test
  void aValidSignatureOverAnotherPayloadIsRefused() throws Exception {
    EnclaveApi.SendPayload studios = TestKit.payload(bundle, policy, new byte[] {1});
    EnclaveApi.SendPayload injected =
        TestKit.unsignedPayload(bundle, policy, "the host's key".getBytes())
            .withSender(studios.sender());
    assertRefused(send(injected), ErrorCode.SENDER_SIGNATURE_INVALID);
    // the studio's signature on its payload under a policy the host wrote: refused as well
    byte[] widened =
        TestKit.policy(
                "reel-1",
                List.of(recipient.publicKey().fingerprint()),
                List.of(),
                Map.of(),
                false,
                50)
            .toJson();
    EnclaveApi.SendPayload rewritten =
        new EnclaveApi.SendPayload(
            1,
            studios.suite(),
            studios.keySetId(),
            Base64Url.encode(widened),
            studios.enc(),
            studios.ciphertext(),
            studios.sender());
    assertRefused(send(rewritten), ErrorCode.SENDER_SIGNATURE_INVALID);
  }

  @Test
  void sendWithAStaleTimestampIsRefused() throws Exception {
    EnclaveApi.SendPayload old =
        SendSigner.sign(
            TestKit.unsignedPayload(bundle, policy, new byte[] {1}),
            TestKit.SENDER,
            Instant.now().minus(SenderAuthorizer.MAX_AGE).minusSeconds(5));
    assertRefused(send(old), ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW);
    EnclaveApi.SendPayload future =
        SendSigner.sign(
            TestKit.unsignedPayload(bundle, policy, new byte[] {1}),
            TestKit.SENDER,
            Instant.now().plus(SenderAuthorizer.MAX_AHEAD).plusSeconds(30));
    assertRefused(send(future), ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW);
  }

  @Test
  void sendBeforeAnySenderSetIsEstablishedIsRefused() throws Exception {
    FakeKeySetService other = new FakeKeySetService().ready();
    try (EnclaveServer bare =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            other,
            MockAttester.create(Files.createTempDirectory("sender-identity").resolve("mock")),
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics())) {
      TestKit.Http h =
          new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) bare.endpoint()).port());
      assertRefused(
          h.post(
              "/v1/send",
              new EnclaveApi.SendRequest(
                  TestKit.payload(
                      other.keySet.bundle(FakeKeySetService.KMS_KEY_ID), policy, new byte[] {1}),
                  List.of())),
          ErrorCode.SENDER_SET_MISSING);
      // and a host cannot establish one for a key set the process did not create (an unsealed one)
      assertRefused(
          h.post(
              "/v1/senders/genesis",
              new EnclaveApi.SenderGenesisRequest(
                  List.of(Base64Url.encode(TestKit.SENDER.publicKey().raw())),
                  List.of(Base64Url.encode(TestKit.SENDER.publicKey().raw())))),
          ErrorCode.SENDER_SET_GENESIS_REFUSED);
    }
  }

  @Test
  void aSecondGenesisByTheHostIsRefused() throws Exception {
    SenderSigningKey hosts = SenderSigningKey.generate(new SecureRandom());
    assertRefused(
        http.post(
            "/v1/senders/genesis",
            new EnclaveApi.SenderGenesisRequest(
                List.of(Base64Url.encode(hosts.publicKey().raw())),
                List.of(Base64Url.encode(hosts.publicKey().raw())))),
        ErrorCode.SENDER_SET_GENESIS_REFUSED);
  }

  @Test
  void anUpdateNotSignedByAnOwnerIsRefused() throws Exception {
    SenderSigningKey hosts = SenderSigningKey.generate(new SecureRandom());
    SenderSet current = server.services().senders().current().orElseThrow();
    SenderSet withHost = current.withSender(hosts.publicKey());
    // signed by a key that is not an owner (the host's), and by a sender (not an owner)
    for (SenderSigningKey signer : List.of(hosts, TestKit.SENDER)) {
      assertRefused(
          http.post(
              "/v1/senders/update",
              SenderSetUpdate.sign(keys.keySet.id(), withHost, signer).toJson()),
          ErrorCode.OWNER_SIGNATURE_INVALID);
    }
    // the owner's signature over another set
    SenderSetUpdate real =
        SenderSetUpdate.sign(
            keys.keySet.id(), current.withSender(TestKit.OWNER.publicKey()), TestKit.OWNER);
    SenderSetUpdate swapped =
        new SenderSetUpdate(real.keySetId(), withHost, real.owner(), real.signature());
    assertRefused(
        http.post("/v1/senders/update", swapped.toJson()), ErrorCode.OWNER_SIGNATURE_INVALID);
    assertRefused(
        send(
            SendSigner.sign(
                TestKit.unsignedPayload(bundle, policy, new byte[] {1}), hosts, Instant.now())),
        ErrorCode.SENDER_UNKNOWN);
  }

  @Test
  void anOwnerAddsAndRemovesASender() throws Exception {
    SenderSigningKey distributor = SenderSigningKey.generate(new SecureRandom());
    SenderSet current = server.services().senders().current().orElseThrow();
    HttpResponse<String> added =
        http.post(
            "/v1/senders/update",
            SenderSetUpdate.sign(
                    keys.keySet.id(), current.withSender(distributor.publicKey()), TestKit.OWNER)
                .toJson());
    assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
    assertThat(json(added, EnclaveApi.SenderSetView.class).senderFingerprints())
        .contains(distributor.publicKey().fingerprint());
    EnclaveApi.SendPayload signed =
        SendSigner.sign(
            TestKit.unsignedPayload(bundle, policy, new byte[] {1}), distributor, Instant.now());
    assertThat(send(signed).statusCode()).isEqualTo(200);
    SenderSet now = server.services().senders().current().orElseThrow();
    HttpResponse<String> removed =
        http.post(
            "/v1/senders/update",
            SenderSetUpdate.sign(
                    keys.keySet.id(), now.withoutSender(distributor.publicKey()), TestKit.OWNER)
                .toJson());
    assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
    assertRefused(send(signed), ErrorCode.SENDER_UNKNOWN);
  }

  @Test
  void aReplayedOlderOwnerStatementIsRefused() throws Exception {
    SenderSigningKey distributor = SenderSigningKey.generate(new SecureRandom());
    SenderSet v1 = server.services().senders().current().orElseThrow();
    SenderSetUpdate add =
        SenderSetUpdate.sign(
            keys.keySet.id(), v1.withSender(distributor.publicKey()), TestKit.OWNER);
    assertThat(http.post("/v1/senders/update", add.toJson()).statusCode()).isEqualTo(200);
    SenderSet v2 = server.services().senders().current().orElseThrow();
    HttpResponse<String> removed =
        http.post(
            "/v1/senders/update",
            SenderSetUpdate.sign(
                    keys.keySet.id(), v2.withoutSender(distributor.publicKey()), TestKit.OWNER)
                .toJson());
    String sealedV3 = json(removed, EnclaveApi.SenderSetView.class).sealedSenderSet();
    // the host replays the owner's statement that added the distributor: version 2 <= 3
    assertRefused(http.post("/v1/senders/update", add.toJson()), ErrorCode.SENDER_SET_STALE);
    // or hands back the sealed set of version 1 (from genesis)
    assertRefused(
        http.post(
            "/v1/senders/restore", new EnclaveApi.SenderRestoreRequest(genesis.sealedSenderSet())),
        ErrorCode.SENDER_SET_STALE);
    assertThat(
            http.post("/v1/senders/restore", new EnclaveApi.SenderRestoreRequest(sealedV3))
                .statusCode())
        .isEqualTo(200);
    // an owner statement for another key set
    assertRefused(
        http.post(
            "/v1/senders/update",
            SenderSetUpdate.sign(
                    new FakeKeySetService().ready().keySet.id(),
                    new SenderSet(9, v1.owners(), v1.senders()),
                    TestKit.OWNER)
                .toJson()),
        ErrorCode.WRONG_KEY_SET);
  }

  @Test
  void aSealedSenderSetTheHostForgesIsRefused() throws Exception {
    byte[] sealed = Base64Url.decode("s", genesis.sealedSenderSet(), 1 << 16);
    for (int i : new int[] {0, 10, sealed.length - 40, sealed.length - 1}) {
      byte[] flipped = sealed.clone();
      flipped[i] ^= 0x01;
      assertRefused(
          http.post(
              "/v1/senders/restore",
              new EnclaveApi.SenderRestoreRequest(Base64Url.encode(flipped))),
          ErrorCode.SENDER_SET_INVALID);
    }
    // a sealed set of another key set (another enclave's storage key)
    FakeKeySetService other = new FakeKeySetService().ready();
    byte[] foreign =
        dev.keycast.protocol.sender.SealedSenderSet.seal(
            other.keySet,
            new SenderSet(
                50, List.of(TestKit.OWNER.publicKey()), List.of(TestKit.OWNER.publicKey())));
    assertRefused(
        http.post(
            "/v1/senders/restore", new EnclaveApi.SenderRestoreRequest(Base64Url.encode(foreign))),
        ErrorCode.SENDER_SET_INVALID);
  }
}
