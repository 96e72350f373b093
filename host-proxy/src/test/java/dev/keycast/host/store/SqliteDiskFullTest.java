package dev.keycast.host.store;

import static dev.keycast.host.store.ArtefactStoreContract.generated;
import static dev.keycast.host.store.ArtefactStoreContract.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 28's fault campaign, disk full under SQLite, on a real full file system: a size-limited
 * tmpfs mounted for the test (root only: skipped where {@code mount} is not allowed). A send
 * committed while the disk is full fails with {@code store_full} and leaves nothing; once space is
 * freed, the same store (no reopen, no restart) commits again. Before the fix the writer kept
 * failing every later group with {@code store_unavailable} after the first {@code SQLITE_FULL},
 * until the process restarted.
 */
class SqliteDiskFullTest {
  @TempDir Path dir;
  private Path mount;

  @AfterEach
  void unmount() throws Exception {
    if (mount != null) {
      run("umount", mount.toString());
    }
  }

  @Test
  void diskFullThenFreedCommitsAgainWithoutReopening() throws Exception {
    mount = Files.createDirectories(dir.resolve("small"));
    assumeTrue(
        run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount.toString()) == 0,
        "cannot mount a tmpfs here (not root?)");
    try (SqliteArtefactStore store = SqliteArtefactStore.open(mount.resolve("k.db"))) {
      store.commitSend(send("before", "p-before", listOf(generated("before", 20))));
      Path filler = mount.resolve("filler");
      fill(filler);
      List<StoreException.Code> codes = new ArrayList<>();
      int n = 0;
      while (codes.size() < 5) { // several failures in a row: each must be a clean store_full
        if (n++ > 400) {
          fail("400 sends of 200 deliveries each were stored on a full disk");
        }
        String id = "full-" + n;
        try {
          store.commitSend(send(id, "p-" + id, listOf(generated(id, 200))));
        } catch (StoreException e) {
          codes.add(e.code());
          assertThat(store.getSend(id)).as("a send that failed leaves nothing").isEmpty();
        }
      }
      assertThat(codes)
          .as("every failure on a full disk is store_full")
          .containsOnly(StoreException.Code.STORE_FULL);
      Files.delete(filler);
      SendCommit after = store.commitSend(send("after", "p-after", listOf(generated("after", 20))));
      assertThat(after.replayed()).isFalse();
      assertThat(store.getSend("after")).isPresent();
      assertThat(store.getSend("before")).isPresent();
    }
  }

  private static List<Delivery> listOf(Iterable<Delivery> it) {
    List<Delivery> out = new ArrayList<>();
    it.forEach(out::add);
    return out;
  }

  private static void fill(Path file) {
    byte[] chunk = new byte[64 * 1024];
    try (OutputStream o = Files.newOutputStream(file)) {
      for (int size = chunk.length; size >= 512; ) {
        try {
          o.write(chunk, 0, size);
          o.flush();
        } catch (IOException full) {
          size /= 2;
        }
      }
    } catch (IOException e) {
      // the close of a file on a full file system may fail too
    }
  }

  private static int run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }
}
