package dev.keycast.transport;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An AF_UNIX stream-socket address, {@code unix:/absolute/path} or {@code unix:relative/path}
 * (relative to the working directory of the process that binds or connects).
 *
 * @param path the socket file; at most {@link #MAX_PATH_BYTES} bytes in UTF-8
 */
public record UnixEndpoint(Path path) implements Endpoint {
  /** {@code sizeof(sun_path) - 1} on Linux: the path plus its terminating NUL fit in 108 bytes. */
  public static final int MAX_PATH_BYTES = 107;

  /** Validates the path. */
  public UnixEndpoint {
    Objects.requireNonNull(path, "path");
    String s = path.toString();
    if (s.isEmpty()) {
      throw new EndpointSyntaxException("unix:", "empty path");
    }
    if (s.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
      throw new EndpointSyntaxException(
          "unix:" + s, "path longer than " + MAX_PATH_BYTES + " bytes");
    }
  }

  @Override
  public String toString() {
    return "unix:" + path;
  }
}
