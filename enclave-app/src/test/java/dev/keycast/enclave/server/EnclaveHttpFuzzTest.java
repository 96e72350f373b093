package dev.keycast.enclave.server;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.fuzz.HttpHarness;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Coverage-guided fuzz target for the enclave's HTTP pipeline (codec, keep-alive, streamed send
 * body, body limit, router, every handler) as the untrusted host drives it: arbitrary bytes on
 * one connection, in an {@link EmbeddedChannel}.
 *
 * <p>Contract: no exception reaches the end of the pipeline; every answer is well-framed HTTP/1.1;
 * no input is answered {@code 500} (that would be an untyped failure inside a handler); every
 * error answer is a JSON error body with a stable code and a message.
 */
class EnclaveHttpFuzzTest {
  private static final MockAttester ATTESTER = mockAttester();
  private static final ExecutorService FANOUT =
      Executors.newFixedThreadPool(
          1,
          r -> {
            Thread t = new Thread(r, "fuzz-fanout");
            t.setDaemon(true);
            return t;
          });

  /** Shared by all executions (building them costs more than one execution): a ready key set. */
  private static final FakeKeySetService KEYS = new FakeKeySetService().ready();

  private static final HttpHarness.DeferredExecutor POOL = new HttpHarness.DeferredExecutor();
  private static final EnclaveMetrics METRICS = new EnclaveMetrics();
  private static final SenderAuthorizer SENDERS = new SenderAuthorizer(KEYS, Clock.systemUTC());
  private static final EnclaveServices SERVICES =
      new EnclaveServices(
          KEYS,
          new AttestationService(ATTESTER, KEYS),
          SENDERS,
          new SendService(KEYS, SENDERS, FANOUT, 1, new SecureRandom(), Clock.systemUTC(), METRICS),
          new RecipientValidator(),
          METRICS,
          POOL);

  @FuzzTest
  void requests(byte[] input) {
    HttpHarness.DeferredExecutor pool = POOL;
    EmbeddedChannel ch =
        new EmbeddedChannel(new EnclaveServerInitializer(SERVICES, Duration.ofMinutes(5)));
    HttpHarness.BodyTracker tracker = new HttpHarness.BodyTracker("/v1/send");
    ch.pipeline().addAfter("http", "fuzz-body-tracker", tracker);
    byte[] out = HttpHarness.exchange(ch, pool, tracker, input);
    HttpHarness.checkAnswers(HttpHarness.parse(out));
  }

  private static MockAttester mockAttester() {
    try {
      return MockAttester.create(Files.createTempDirectory("keycast-fuzz-attester"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
