package dev.keycast.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * s3proxy ({@code org.gaul.s3proxy.Main}, the version in the root pom) as its own OS process, with
 * the filesystem blob store in a directory of the test's, so that its objects survive a restart of
 * the process. Its class path is this test JVM's: the module's test-scoped s3proxy dependency puts
 * s3proxy and its dependencies there on a clean clone (under failsafe {@code java.class.path} is
 * the full test class path, or a manifest-only jar naming it, which {@code java -cp} follows
 * alike). s3proxy's nio2 blob stores, the filesystem one included, answer a PUT with {@code
 * If-None-Match: *} on an existing key with 412 (the test proves it through the store's commit).
 */
final class S3ProxyProcess implements AutoCloseable {
  static final String MAIN = "org.gaul.s3proxy.Main";

  private final Path properties;
  private final Path log;
  private final int port;
  private StackProcess process;

  private S3ProxyProcess(Path properties, Path log, int port) {
    this.properties = properties;
    this.log = log;
    this.port = port;
  }

  /**
   * Starts s3proxy on 127.0.0.1 (a free port) with AWS v2/v4 authentication of {@code identity}
   * and {@code credential}, storing its objects under {@code dir/blobs}; returns once it accepts
   * connections.
   */
  static S3ProxyProcess start(Path dir, String identity, String credential, Path log)
      throws IOException, InterruptedException {
    try {
      Class.forName(MAIN, false, S3ProxyProcess.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(
          MAIN + " is not on the test class path: keycast-e2e's pom must depend on s3proxy", e);
    }
    Path blobs = Files.createDirectories(dir.resolve("blobs"));
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path properties = dir.resolve("s3proxy.properties");
    Files.writeString(
        properties,
        String.join(
            "\n",
            "s3proxy.endpoint=http://127.0.0.1:" + port,
            "s3proxy.authorization=aws-v2-or-v4",
            "s3proxy.identity=" + identity,
            "s3proxy.credential=" + credential,
            "jclouds.provider=filesystem-nio2",
            "jclouds.filesystem.basedir=" + blobs,
            ""),
        StandardCharsets.UTF_8);
    S3ProxyProcess p = new S3ProxyProcess(properties, log, port);
    p.launch();
    return p;
  }

  private void launch() throws IOException, InterruptedException {
    process =
        StackProcess.startJava(
            "s3proxy",
            List.of(
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                MAIN,
                "--properties",
                properties.toString()),
            Map.of(),
            log);
    process.awaitCondition(
        "s3proxy accepting connections on port " + port, Duration.ofSeconds(120), this::accepts);
  }

  private boolean accepts() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Stops the process (SIGTERM) and starts it again on the same port and directory. */
  void restart() throws IOException, InterruptedException {
    process.stop(Duration.ofSeconds(20));
    launch();
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  int port() {
    return port;
  }

  StackProcess process() {
    return process;
  }

  @Override
  public void close() {
    if (process != null) {
      process.close();
    }
  }

  void kill() {
    if (process != null) {
      process.kill();
    }
  }
}
