package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.receipt.Receipt;
import java.io.ByteArrayOutputStream;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link SendAuthorization} is asked once per request, after the payload was opened and its policy
 * checked and before any candidate is decided: a refusal delivers nothing and answers the
 * refusal's code.
 */
class SendAuthorizationTest {
  static FakeKeySetService keys;
  static KeyBundle bundle;
  static ExecutorService pool;

  @BeforeAll
  static void setUp() throws Exception {
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    pool = Executors.newFixedThreadPool(2);
  }

  @AfterAll
  static void tearDown() {
    pool.shutdownNow();
  }

  private static EnclaveApi.SendRequest request(int recipients) throws Exception {
    List<EnclaveApi.Candidate> candidates = new ArrayList<>();
    List<String> fps = new ArrayList<>();
    for (int i = 0; i < recipients; i++) {
      var k = TestKit.x25519();
      candidates.add(TestKit.candidate(k));
      fps.add(k.publicKey().fingerprint());
    }
    byte[] policy = TestKit.policy("s", fps, List.of(), Map.of(), false, recipients).toJson();
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    return new EnclaveApi.SendRequest(TestKit.payload(bundle, policy, secret), candidates);
  }

  @Test
  void refusedSendDeliversNothing() throws Exception {
    AtomicInteger tasks = new AtomicInteger();
    ThreadPoolExecutor counting =
        new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>()) {
          @Override
          public void execute(Runnable command) {
            tasks.incrementAndGet();
            super.execute(command);
          }
        };
    List<SendAuthorization.Request> asked = new ArrayList<>();
    SendService service =
        new SendService(
            keys,
            TestKit.sendersFor(keys),
            new SendEngine(counting, 2, new SecureRandom(), new EnclaveMetrics()),
            r -> {
              asked.add(r);
              throw new EnclaveApiException(ErrorCode.FORBIDDEN, "sender not authorized");
            },
            new SecureRandom(),
            Clock.systemUTC());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    EnclaveApiException e =
        catchThrowableOfType(EnclaveApiException.class, () -> service.send(request(40), out));
    assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN);
    assertThat(asked)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.kind()).isEqualTo(Receipt.Kind.SEND);
              assertThat(r.keySetId()).isEqualTo(bundle.keySetId());
              assertThat(r.policy().maxRecipients()).isEqualTo(40);
            });
    assertThat(tasks).hasValue(0);
    assertThat(out.size()).isZero();
    counting.shutdownNow();
  }

  @Test
  void allowedSendIsAskedOnceAndDelivers() throws Exception {
    List<SendAuthorization.Request> asked = new ArrayList<>();
    SendService service =
        new SendService(
            keys,
            TestKit.sendersFor(keys),
            new SendEngine(pool, 2, new SecureRandom(), new EnclaveMetrics()),
            asked::add,
            new SecureRandom(),
            Clock.systemUTC());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    service.send(request(40), out);
    EnclaveApi.SendResponse r =
        dev.keycast.protocol.Json.mapper()
            .readValue(out.toByteArray(), EnclaveApi.SendResponse.class);
    assertThat(r.deliveries()).hasSize(40);
    assertThat(asked).singleElement().satisfies(a -> assertThat(a.sendId()).isEqualTo(r.sendId()));
  }
}
