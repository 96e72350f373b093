package dev.keycast.e2e;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.awaitility.core.ConditionTimeoutException;

/**
 * One Keycast process (mock KMS, enclave, host proxy) started from its shaded jar with the JDK that
 * runs the tests; stdout and stderr go to a log file whose tail every failure message quotes.
 */
final class StackProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;

  private StackProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /** The {@code java} binary of this JVM (JDK 25 under the build). */
  static String javaBinary() {
    return ProcessHandle.current()
        .info()
        .command()
        .orElseThrow(
            () -> new IllegalStateException("cannot tell which java binary runs the tests"));
  }

  /** Starts {@code java -jar jar args...}, appending to {@code log}. */
  static StackProcess start(
      String name, Path jar, List<String> args, Map<String, String> env, Path log)
      throws IOException {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          name
              + ": "
              + jar
              + " does not exist: run the e2e tests in 'verify'"
              + " (./mvnw verify -pl keycast-e2e -am) so that 'package' builds the shaded jars first");
    }
    List<String> javaArgs = new ArrayList<>(List.of("-jar", jar.toString()));
    javaArgs.addAll(args);
    return startJava(name, javaArgs, env, log);
  }

  /**
   * Starts {@code java javaArgs...} (a main class on a class path, for instance), appending to
   * {@code log}.
   */
  static StackProcess startJava(
      String name, List<String> javaArgs, Map<String, String> env, Path log) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(javaBinary()));
    cmd.addAll(javaArgs);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    pb.environment().putAll(env);
    // The header names the command line with credential values redacted: the logs are checked for
    // secrets (LocalStackIT), and this line is the harness's, not the product's.
    List<String> shown = new ArrayList<>(cmd);
    for (int i = 1; i < shown.size(); i++) {
      if (shown.get(i - 1).matches("--secret(-access)?-key")) {
        shown.set(i, "<redacted>");
      } else if (shown.get(i - 1).equals("-cp")) {
        shown.set(i, "<class path of the test JVM>");
      }
    }
    Files.writeString(
        log,
        "=== " + String.join(" ", shown) + "\n",
        StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
    return new StackProcess(name, pb.start(), log);
  }

  String name() {
    return name;
  }

  Path log() {
    return log;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** The last {@code lines} lines of the log. */
  String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | RuntimeException e) {
      return "(log " + log + " unreadable: " + e.getMessage() + ")";
    }
  }

  /**
   * Polls {@code condition} until it holds, failing with the log tail when this process exits or
   * {@code timeout} passes (a generous bound: the test machine may be a loaded 2-core box).
   */
  void awaitCondition(String what, Duration timeout, BooleanSupplier condition)
      throws InterruptedException {
    try {
      await(what)
          .atMost(timeout)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                if (condition.getAsBoolean()) {
                  return true;
                }
                if (!process.isAlive()) {
                  throw new AssertionError(
                      name
                          + " exited (status "
                          + process.exitValue()
                          + ") before "
                          + what
                          + "; last lines of "
                          + log
                          + ":\n"
                          + tail(40));
                }
                return false;
              });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          what
              + " did not happen within "
              + timeout.toSeconds()
              + " s; last lines of "
              + log
              + ":\n"
              + tail(40),
          e);
    }
  }

  /** SIGTERM, then SIGKILL after {@code grace}; waits for the exit. */
  void stop(Duration grace) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Kills at once (shutdown hook and cleanup paths). */
  void kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      try {
        stop(Duration.ofSeconds(20));
      } catch (InterruptedException e) {
        kill();
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return name + " (pid " + process.pid() + ", log " + log + ")";
  }
}
