package dev.keycast.host.bridge;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An enclave answer kept in a temporary file ({@link AnswerSpool}): every stream opened on it is
 * remembered, so that {@link #close} closes them before it deletes the file and the disk space
 * goes at once, even when a reader stopped before the end (a pass that failed, a list read only
 * up to its size). Closing never throws: a file that cannot be deleted is logged.
 */
public final class SpooledFile implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(SpooledFile.class);

  private final Path path;
  private final List<InputStream> open = new ArrayList<>();
  private boolean closed;

  SpooledFile(Path path) {
    this.path = path;
  }

  /** A new buffered stream over the whole file. */
  public synchronized InputStream openStream() throws IOException {
    if (closed) {
      throw new IOException("the spooled answer was already released");
    }
    InputStream in = new BufferedInputStream(Files.newInputStream(path), 1 << 16);
    open.add(in);
    return in;
  }

  /** The whole file (for callers that want the bytes). */
  byte[] readAll() throws IOException {
    try (InputStream in = openStream()) {
      return in.readAllBytes();
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (InputStream in : open) {
      try {
        in.close();
      } catch (IOException e) {
        LOG.debug("a spooled answer's reader did not close: {}", e.getClass().getSimpleName());
      }
    }
    open.clear();
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      LOG.warn("a spooled enclave answer could not be deleted: {}", e.getClass().getSimpleName());
    }
  }

  @Override
  public String toString() {
    return "SpooledFile[" + path.getFileName() + "]";
  }
}
