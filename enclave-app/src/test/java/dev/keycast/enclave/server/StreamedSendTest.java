package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link SendService#send(InputStream, java.io.OutputStream)} reads the body incrementally: the
 * answer does not depend on how the body is split into reads, caps and order are enforced, and a
 * failure anywhere in the body fails the whole send.
 */
class StreamedSendTest {
  static FakeKeySetService keys;
  static KeyBundle bundle;
  static ExecutorService pool;
  static SendService service;
  static final List<X25519PrivateKey> RECIPIENTS = new ArrayList<>();
  static byte[] secret = new byte[32];

  @BeforeAll
  static void setUp() throws Exception {
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    pool = Executors.newFixedThreadPool(2);
    SenderAuthorizer senders = new SenderAuthorizer(keys, Clock.systemUTC());
    TestKit.establishSenders(senders, keys.keySet.id());
    service =
        new SendService(
            keys, senders, pool, 2, new SecureRandom(), Clock.systemUTC(), new EnclaveMetrics());
    for (int i = 0; i < 3; i++) {
      RECIPIENTS.add(TestKit.x25519());
    }
    new SecureRandom().nextBytes(secret);
  }

  @AfterAll
  static void tearDown() {
    pool.shutdownNow();
  }

  static String payloadJson(int max) throws Exception {
    List<String> fps =
        RECIPIENTS.subList(0, 2).stream().map(k -> k.publicKey().fingerprint()).toList();
    byte[] policy = TestKit.policy("s", fps, List.of(), Map.of(), false, max).toJson();
    return new String(Json.encode(TestKit.payload(bundle, policy, secret)), StandardCharsets.UTF_8);
  }

  static String candidatesJson(List<EnclaveApi.Candidate> cs) {
    return new String(Json.encode(cs), StandardCharsets.UTF_8);
  }

  static List<EnclaveApi.Candidate> candidates() {
    return RECIPIENTS.stream().map(TestKit::candidate).toList();
  }

  /** Delivers {@code body} in two reads split at {@code at}, or one byte per read when at < 0. */
  static InputStream split(byte[] body, int at) {
    return new InputStream() {
      int pos;

      @Override
      public int read() {
        return pos < body.length ? body[pos++] & 0xff : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (pos >= body.length) {
          return -1;
        }
        int end = at < 0 ? pos + 1 : (pos < at ? at : body.length);
        int n = Math.min(len, Math.max(1, end - pos));
        System.arraycopy(body, pos, b, off, n);
        pos += n;
        return n;
      }
    };
  }

  static EnclaveApi.SendResponse send(InputStream in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    service.send(in, out);
    return Json.decode(out.toByteArray(), 1 << 26, EnclaveApi.SendResponse.class);
  }

  @Test
  void everySplitOfASmallBodyGivesTheSameAnswer() throws Exception {
    byte[] body =
        ("{\"payload\":"
                + payloadJson(10)
                + ",\"candidates\":"
                + candidatesJson(candidates())
                + "}")
            .getBytes(StandardCharsets.UTF_8);
    EnclaveApi.SendResponse whole = send(new ByteArrayInputStream(body));
    assertThat(whole.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(
            RECIPIENTS.get(0).publicKey().fingerprint(),
            RECIPIENTS.get(1).publicKey().fingerprint());
    assertThat(whole.skipped()).hasSize(1);
    // the receipt is written as unpadded base64url straight from its bytes, and verifies
    assertThat(whole.receipt()).matches("[A-Za-z0-9_-]+");
    dev.keycast.protocol.receipt.Receipt receipt =
        dev.keycast.protocol.receipt.ReceiptVerifier.verify(
            dev.keycast.protocol.Base64Url.decode("receipt", whole.receipt(), 1 << 20), bundle);
    assertThat(receipt.deliveries()).hasSize(2);
    assertThat(receipt.skipped()).hasSize(1);
    for (int at = -1; at <= body.length; at++) {
      EnclaveApi.SendResponse r = send(split(body, at));
      assertThat(r.sendId()).as("split at %d", at).isEqualTo(whole.sendId());
      assertThat(r.deliveries())
          .extracting(EnclaveApi.Delivery::deliveryId)
          .as("split at %d", at)
          .isEqualTo(whole.deliveries().stream().map(EnclaveApi.Delivery::deliveryId).toList());
      assertThat(r.skipped()).as("split at %d", at).isEqualTo(whole.skipped());
    }
  }

  @Test
  void candidatesBeforeThePayloadAreRefused() throws Exception {
    byte[] body =
        ("{\"candidates\":"
                + candidatesJson(candidates())
                + ",\"payload\":"
                + payloadJson(10)
                + "}")
            .getBytes(StandardCharsets.UTF_8);
    EnclaveApiException e =
        catchThrowableOfType(EnclaveApiException.class, () -> send(new ByteArrayInputStream(body)));
    assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_REQUEST);
    assertThat(e.getMessage()).contains("payload must come before candidates");
  }

  @Test
  void noCandidatesMemberIsASendToNobody() throws Exception {
    EnclaveApi.SendResponse r =
        send(
            new ByteArrayInputStream(
                ("{\"payload\":" + payloadJson(10) + "}").getBytes(StandardCharsets.UTF_8)));
    assertThat(r.deliveries()).isEmpty();
    assertThat(r.receipt()).isNotEmpty();
  }

  @Test
  void malformedJsonMidStreamFailsTheWholeSend() throws Exception {
    // more than one chunk of candidates, then garbage: the first chunk was already sealed
    List<EnclaveApi.Candidate> many = new ArrayList<>();
    for (int i = 0; i < SendEngine.CHUNK + 10; i++) {
      many.add(TestKit.candidate(RECIPIENTS.get(i % 2)));
    }
    String good = "{\"payload\":" + payloadJson(10) + ",\"candidates\":" + candidatesJson(many);
    for (String bad :
        new String[] {
          good.substring(0, good.length() - 1) + ",{\"key\":}]}", // syntax error inside the array
          good.substring(0, good.length() - 300), // truncated body
          good + "}{", // trailing data
          good + ",\"extra\":1}"
        }) { // unknown member after the candidates
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      EnclaveApiException e =
          catchThrowableOfType(
              EnclaveApiException.class,
              () ->
                  service.send(
                      new ByteArrayInputStream(bad.getBytes(StandardCharsets.UTF_8)), out));
      assertThat(e).as(bad.substring(Math.max(0, bad.length() - 40))).isNotNull();
      assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_REQUEST);
    }
  }

  @Test
  void anInvalidCandidateLateInTheBodyFailsTheWholeSend() throws Exception {
    List<EnclaveApi.Candidate> many = new ArrayList<>();
    for (int i = 0; i < SendEngine.CHUNK + 5; i++) {
      many.add(TestKit.candidate(RECIPIENTS.get(i % 2)));
    }
    many.add(new EnclaveApi.Candidate("AAAA", List.of()));
    String body =
        "{\"payload\":" + payloadJson(10) + ",\"candidates\":" + candidatesJson(many) + "}";
    EnclaveApiException e =
        catchThrowableOfType(
            EnclaveApiException.class,
            () -> send(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8))));
    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_RECIPIENT);
    assertThat(e.getMessage()).startsWith("candidates[" + (SendEngine.CHUNK + 5) + "]");
  }

  @Test
  void maxRecipientsIsEnforcedWhileStreaming() throws Exception {
    String body =
        "{\"payload\":" + payloadJson(1) + ",\"candidates\":" + candidatesJson(candidates()) + "}";
    EnclaveApiException e =
        catchThrowableOfType(
            EnclaveApiException.class,
            () -> send(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8))));
    assertThat(e.code()).isEqualTo(ErrorCode.TOO_MANY_RECIPIENTS);
  }

  @Test
  void payloadProblemsComeBeforeAnyCandidateIsRead() throws Exception {
    // a wrong key set is reported even though the candidates that follow are garbage
    String payload =
        payloadJson(10).replace(bundle.keySetId(), "ks-00000000000000000000000000000000");
    String body = "{\"payload\":" + payload + ",\"candidates\":[{\"key\":}";
    EnclaveApiException e =
        catchThrowableOfType(
            EnclaveApiException.class,
            () -> send(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8))));
    assertThat(e.code()).isEqualTo(ErrorCode.WRONG_KEY_SET);
    EnclaveApiException dup =
        catchThrowableOfType(
            EnclaveApiException.class,
            () ->
                send(
                    new ByteArrayInputStream(
                        ("{\"payload\":"
                                + payloadJson(10)
                                + ",\"payload\":"
                                + payloadJson(10)
                                + "}")
                            .getBytes(StandardCharsets.UTF_8))));
    assertThat(dup.code()).isEqualTo(ErrorCode.MALFORMED_REQUEST);
    EnclaveApiException notObject =
        catchThrowableOfType(
            EnclaveApiException.class,
            () -> send(new ByteArrayInputStream("[]".getBytes(StandardCharsets.UTF_8))));
    assertThat(notObject.code()).isEqualTo(ErrorCode.MALFORMED_REQUEST);
  }
}
