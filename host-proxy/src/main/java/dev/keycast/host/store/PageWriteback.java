package dev.keycast.host.store;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the kernel's write-back of a file's dirty pages without waiting for it: Linux {@code
 * sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)}, through the FFM API on a read-only descriptor
 * this object holds. It makes nothing durable (no device flush, no metadata); it only moves the
 * writing of pages that a later {@code fsync} must wait for to an earlier, quieter moment, as
 * PostgreSQL's {@code checkpoint_flush_after} does. Where the call is not available (not Linux,
 * no such symbol, the file cannot be opened) it does nothing: {@link #active()} says which.
 *
 * <p>Not thread-safe; one owner thread ({@link WalCheckpointer}'s).
 */
final class PageWriteback implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PageWriteback.class);

  /** {@code SYNC_FILE_RANGE_WRITE} (linux/fs.h): start write-out of dirty pages, do not wait. */
  static final int SYNC_FILE_RANGE_WRITE = 2;

  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 0x80000; // linux x86-64 and aarch64

  private final MethodHandle syncFileRange;
  private final MethodHandle close;
  private int fd;

  private PageWriteback(MethodHandle syncFileRange, MethodHandle close, int fd) {
    this.syncFileRange = syncFileRange;
    this.close = close;
    this.fd = fd;
  }

  private static PageWriteback inactive() {
    return new PageWriteback(null, null, -1);
  }

  /** Write-back for {@code file}, or an inactive one where it cannot be had. Never throws. */
  static PageWriteback of(Path file) {
    if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("linux")) {
      return inactive();
    }
    try {
      Linker linker = Linker.nativeLinker();
      SymbolLookup libc = linker.defaultLookup();
      MethodHandle open =
          linker.downcallHandle(
              libc.find("open").orElseThrow(),
              FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
              Linker.Option.firstVariadicArg(2));
      MethodHandle sync =
          linker.downcallHandle(
              libc.find("sync_file_range").orElseThrow(),
              FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
      MethodHandle close =
          linker.downcallHandle(
              libc.find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
      int fd;
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment path = arena.allocateFrom(file.toAbsolutePath().toString());
        fd = (int) open.invokeExact(path, O_RDONLY | O_CLOEXEC);
      }
      if (fd < 0) {
        LOG.debug("page write-back off: cannot open {}", file);
        return inactive();
      }
      return new PageWriteback(sync, close, fd);
    } catch (Throwable e) {
      LOG.debug("page write-back off: {}", e.toString());
      return inactive();
    }
  }

  /** True when {@link #start} asks the kernel; false when it does nothing. */
  boolean active() {
    return fd >= 0;
  }

  /** Starts the write-out of the file's dirty pages; returns at once. Never throws. */
  void start() {
    if (fd < 0) {
      return;
    }
    try {
      int r = (int) syncFileRange.invokeExact(fd, 0L, 0L, SYNC_FILE_RANGE_WRITE);
      if (r != 0) {
        LOG.debug("page write-back off: sync_file_range failed");
        close();
      }
    } catch (Throwable e) {
      LOG.debug("page write-back off: {}", e.toString());
      close();
    }
  }

  @Override
  public void close() {
    if (fd < 0) {
      return;
    }
    int f = fd;
    fd = -1;
    try {
      int ignored = (int) close.invokeExact(f);
    } catch (Throwable e) {
      LOG.debug("closing the write-back descriptor failed: {}", e.toString());
    }
  }
}
