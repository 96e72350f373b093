package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A send to 10,000 X25519 recipients with certificates (every tenth of another organisation) over a real socket. No timing assertion. */
class LargeSendTest {
  static final int N = 10_000;

  @Test
  @Timeout(600)
  void tenThousandRecipients() throws Exception {
    FakeKeySetService keys = new FakeKeySetService().ready();
    KeyBundle bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    MockAttester attester =
        MockAttester.create(Files.createTempDirectory("large-send").resolve("state"));
    try (EnclaveServer server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            Runtime.getRuntime().availableProcessors(),
            new EnclaveMetrics())) {
      TestKit.establishSenders(server, keys.keySet.id());
      // a fingerprint list of 10,000 would exceed the 256 KiB policy limit: select by anchor +
      // subject
      KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
      ec.initialize(256);
      KeyPair caKeys = ec.generateKeyPair();
      X509Certificate ca =
          TestKit.cert(
              "CN=Maker Root,O=Maker",
              caKeys.getPublic(),
              "CN=Maker Root,O=Maker",
              caKeys.getPrivate(),
              true,
              "SHA256withECDSA");
      KeyFactory xdh = KeyFactory.getInstance("XDH");
      List<X25519PrivateKey> recipients = new ArrayList<>(N);
      List<EnclaveApi.Candidate> candidates = new ArrayList<>(N);
      for (int i = 0; i < N; i++) {
        X25519PrivateKey k = TestKit.x25519();
        recipients.add(k);
        PublicKey pub = xdh.generatePublic(new X509EncodedKeySpec(k.publicKey().toSpkiDer()));
        String org = i % 10 == 9 ? "Other Co" : "Cinema Co";
        X509Certificate leaf =
            TestKit.cert(
                "CN=Projector " + i + ",O=" + org,
                pub,
                "CN=Maker Root,O=Maker",
                caKeys.getPrivate(),
                false,
                "SHA256withECDSA");
        candidates.add(TestKit.candidate(pub, leaf));
      }
      byte[] secret = new byte[32];
      new SecureRandom().nextBytes(secret);
      byte[] policy =
          TestKit.policy("big", List.of(), List.of(ca), Map.of("O", "Cinema Co"), false, N)
              .toJson();
      TestKit.Http http =
          new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());
      long t0 = System.nanoTime();
      HttpResponse<String> r =
          http.post(
              "/v1/send",
              new EnclaveApi.SendRequest(TestKit.payload(bundle, policy, secret), candidates));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.err.println(
          "10,000-recipient send took " + ms + " ms, answer " + r.body().length() + " bytes");
      assertThat(r.statusCode())
          .as(r.body().substring(0, Math.min(300, r.body().length())))
          .isEqualTo(200);
      EnclaveApi.SendResponse s = TestKit.Http.json(r, EnclaveApi.SendResponse.class);
      assertThat(s.deliveries()).hasSize(N - N / 10);
      assertThat(s.skipped())
          .hasSize(N / 10)
          .allMatch(k -> k.reason().equals(Eligibility.SUBJECT_MISMATCH));
      // deliveries come in candidate order; spot-check that envelopes open for their recipients
      for (int i : new int[] {0, 1, 4_500, N - 2}) {
        EnclaveApi.Delivery d = s.deliveries().get(i - i / 10);
        X25519PrivateKey k = recipients.get(i);
        assertThat(d.recipient()).isEqualTo(k.publicKey().fingerprint());
        assertThat(
                HpkeDeliveryFormat.INSTANCE
                    .open(k, Base64Url.decode("e", d.envelope(), 1 << 20))
                    .secret())
            .isEqualTo(secret);
      }
      Receipt receipt = ReceiptVerifier.verify(Base64Url.decode("r", s.receipt(), 1 << 26), bundle);
      assertThat(receipt.deliveries()).hasSize(N - N / 10);
      assertThat(receipt.skipped()).hasSize(N / 10);
    }
  }
}
