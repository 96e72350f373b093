package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * An answer that does not fit the enclave's memory (a KDM send to 10,000 screens answers about
 * 150 MB of KDMs, built in direct-memory pieces) is the enclave's limit: the caller gets {@code 503
 * overloaded} with what to do, never {@code 400 malformed_request} blaming its request.
 */
class AnswerMemoryTest {
  private static final EnclaveServerHandler.Work OUT_OF_DIRECT_MEMORY = out -> {
    out.write(new byte[1024]);
    throw new OutOfMemoryError("Cannot reserve 4194304 bytes of direct buffer memory");
  };

  @Test
  void anAnswerTooLargeForTheEnclavesMemoryOfAStreamedSendIsNotBlamedOnTheRequest() {
    EmbeddedChannel channel = new EmbeddedChannel();
    BodyPipe body = new BodyPipe(channel, 1 << 20); // a streamed send body not read to its end
    EnclaveServerHandler.Response r = EnclaveServerHandler.run(UnpooledByteBufAllocator.DEFAULT, OUT_OF_DIRECT_MEMORY, body);
    assertOverloaded(r);
    channel.finishAndReleaseAll();
  }

  @Test
  void anAnswerTooLargeForTheEnclavesMemoryOfAnAggregatedRequestIsOverloadedNotInternal() {
    assertOverloaded(EnclaveServerHandler.run(UnpooledByteBufAllocator.DEFAULT, OUT_OF_DIRECT_MEMORY, null));
  }

  private static void assertOverloaded(EnclaveServerHandler.Response r) {
    try {
      assertThat(r.head().status()).isEqualTo(503);
      String json = new String(r.head().body(), StandardCharsets.UTF_8);
      assertThat(json).contains("\"error\":\"overloaded\"").contains("split the send");
    } finally {
      r.body().release();
    }
  }
}
