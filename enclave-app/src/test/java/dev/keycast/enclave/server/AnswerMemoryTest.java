package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * An answer that does not fit the enclave's memory is the enclave's limit: the caller gets {@code
 * 503 overloaded} with what to do, never {@code 400 malformed_request} blaming its request. Since
 * answers stream ({@link AnswerStream}: a KDM send to 10,000 screens, about 150 MB, holds at most
 * about 1 MiB of its answer) this is the heap running out before the answer's first piece left; a
 * failure after that ends the streamed answer with the error in its trailers (AnswerStreamTest).
 */
class AnswerMemoryTest {
  private static final EnclaveServerHandler.Work OUT_OF_DIRECT_MEMORY =
      out -> {
        out.write(new byte[1024]);
        throw new OutOfMemoryError("Cannot reserve 4194304 bytes of direct buffer memory");
      };

  @Test
  void anAnswerTooLargeForTheEnclavesMemoryOfAStreamedSendIsNotBlamedOnTheRequest() {
    EmbeddedChannel channel = new EmbeddedChannel();
    BodyPipe body = new BodyPipe(channel, 1 << 20); // a streamed send body not read to its end
    EnclaveServerHandler.Response r =
        EnclaveServerHandler.run(UnpooledByteBufAllocator.DEFAULT, OUT_OF_DIRECT_MEMORY, body);
    assertOverloaded(r);
    channel.finishAndReleaseAll();
  }

  @Test
  void anAnswerTooLargeForTheEnclavesMemoryOfAnAggregatedRequestIsOverloadedNotInternal() {
    assertOverloaded(
        EnclaveServerHandler.run(UnpooledByteBufAllocator.DEFAULT, OUT_OF_DIRECT_MEMORY, null));
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
