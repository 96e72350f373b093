package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The write-back call: linked and accepted by the kernel on Linux, a no-op where it cannot be. */
class PageWritebackTest {
  @TempDir Path dir;

  @Test
  void onLinuxTheKernelAcceptsTheCallForAFileWithDirtyPages() throws Exception {
    assumeTrue(
        System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).startsWith("linux"),
        "sync_file_range is Linux only; elsewhere PageWriteback is inactive by design");
    Path file = dir.resolve("db");
    try (FileChannel c =
            FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        PageWriteback writeback = PageWriteback.of(file)) {
      assertThat(writeback.active()).isTrue();
      for (int i = 0; i < 3; i++) {
        c.write(ByteBuffer.allocate(256 * 1024), (long) i * 1024 * 1024); // dirty pages, a hole
        writeback.start();
        // a call the kernel refused (bad descriptor, bad flags) turns it off
        assertThat(writeback.active()).as("after start() %d", i).isTrue();
      }
      writeback.close();
      assertThat(writeback.active()).isFalse();
      writeback.start(); // after close: nothing, no exception
      writeback.close();
    }
    assertThat(Files.size(file)).isEqualTo(2L * 1024 * 1024 + 256 * 1024);
  }

  @Test
  void aFileThatCannotBeOpenedGivesAnInactiveWriteback() {
    try (PageWriteback writeback = PageWriteback.of(dir.resolve("missing"))) {
      assertThat(writeback.active()).isFalse();
      writeback.start();
      assertThat(writeback.active()).isFalse();
    }
  }
}
