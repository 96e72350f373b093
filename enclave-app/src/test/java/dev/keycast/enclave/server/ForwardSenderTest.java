package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.SealedSecret;
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
import java.security.interfaces.RSAPrivateKey;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 23: a forward to a late recipient names the signed send's sender, as the send itself did,
 * because the sealed secret (version 2) binds the sender; a host that relabels the sender in the
 * sealed secret it stores, or strips it, gets nothing forwarded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ForwardSenderTest {
  Path tmp;
  FakeKeySetService keys;
  KeyBundle bundle;
  EnclaveServer server;
  TestKit.Http http;
  KeyPair early;
  KeyPair late;
  byte[] secret = "content key of reel 4".getBytes(StandardCharsets.UTF_8);
  byte[] policyBytes;
  EnclaveApi.SendResponse sent;
  String senderHex = HexFormat.of().formatHex(TestKit.SENDER.publicKey().raw());

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("forward-sender-test");
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            MockAttester.create(tmp.resolve("mock")),
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics());
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());
    TestKit.establishSenders(server, keys.keySet.id());
    early = TestKit.rsa(2048);
    late = TestKit.rsa(2048);
    SendPolicy policy =
        TestKit.policy(
            "reel-4",
            List.of(TestKit.fp(early.getPublic()), TestKit.fp(late.getPublic())),
            List.of(),
            Map.of(),
            true,
            5);
    policyBytes = policy.toJson();
    HttpResponse<String> r =
        http.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                TestKit.payload(bundle, policyBytes, secret),
                List.of(TestKit.candidate(early.getPublic()))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    sent = json(r, EnclaveApi.SendResponse.class);
  }

  @AfterAll
  void stop() {
    server.close();
  }

  HttpResponse<String> forward(byte[] sealed) throws Exception {
    return http.post(
        "/v1/forward",
        new EnclaveApi.ForwardRequest(
            sent.sendId(),
            Base64Url.encode(policyBytes),
            Base64Url.encode(sealed),
            List.of(TestKit.candidate(late.getPublic()))));
  }

  byte[] sealed() throws Exception {
    return Base64Url.decode("sealed_secret", sent.sealedSecret(), SealedSecret.MAX_ENCODED);
  }

  @Test
  void theSealedSecretOfASignedSendNamesItsSender() throws Exception {
    SealedSecret s = SealedSecret.parse(sealed());
    assertThat(s.version()).isEqualTo(SealedSecret.VERSION_WITH_SENDER);
    assertThat(HexFormat.of().formatHex(s.senderKey())).isEqualTo(senderHex);
  }

  @Test
  void aForwardNamesTheSendersKeyInItsReceiptAndItsDelivery() throws Exception {
    HttpResponse<String> r = forward(sealed());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.ForwardResponse f = json(r, EnclaveApi.ForwardResponse.class);
    assertThat(f.deliveries()).hasSize(1);

    Receipt receipt =
        ReceiptVerifier.verify(Base64Url.decode("receipt", f.receipt(), 1 << 20), bundle);
    assertThat(receipt.kind()).isEqualTo(Receipt.Kind.FORWARD);
    assertThat(receipt.version()).isEqualTo(Receipt.VERSION_WITH_SENDER);
    assertThat(receipt.sender().key()).isEqualTo(senderHex);
    Receipt sendReceipt =
        ReceiptVerifier.verify(Base64Url.decode("receipt", sent.receipt(), 1 << 20), bundle);
    assertThat(receipt.sender()).isEqualTo(sendReceipt.sender());

    byte[] envelope = Base64Url.decode("envelope", f.deliveries().getFirst().envelope(), 1 << 20);
    var opened = CmsDeliveryFormat.AES_256_GCM.open((RSAPrivateKey) late.getPrivate(), envelope);
    assertThat(opened.secret()).isEqualTo(secret);
    assertThat(opened.metadata().version()).isEqualTo(DeliveryMetadata.VERSION_2);
    assertThat(opened.metadata().senderKey()).isEqualTo(senderHex);
  }

  @Test
  void aHostThatRelabelsTheSenderInTheSealedSecretGetsNothingForwarded() throws Exception {
    byte[] relabelled = sealed();
    byte[] other = TestKit.OWNER.publicKey().raw(); // a genuine key, just not this send's sender
    int at = indexOf(relabelled, TestKit.SENDER.publicKey().raw());
    assertThat(at).isPositive();
    System.arraycopy(other, 0, relabelled, at, other.length);
    HttpResponse<String> r = forward(relabelled);
    assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("decryption_failed");
    assertThat(r.body()).doesNotContain(Base64Url.encode(secret));
  }

  @Test
  void aHostThatStripsTheSenderFromTheSealedSecretGetsNothingForwarded() throws Exception {
    byte[] v2 = sealed();
    int at = indexOf(v2, TestKit.SENDER.publicKey().raw());
    // the version-1 layout: version byte 1, the 40 sender bytes (key, signed-at) cut out
    byte[] v1 = new byte[v2.length - 40];
    System.arraycopy(v2, 0, v1, 0, at);
    System.arraycopy(v2, at + 40, v1, at, v2.length - at - 40);
    v1[4] = 1;
    assertThat(SealedSecret.parse(v1).version()).isEqualTo(SealedSecret.VERSION);
    HttpResponse<String> r = forward(v1);
    assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("decryption_failed");
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
        return i;
      }
    }
    return -1;
  }
}
