package dev.keycast.host.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Runs {@code scripts/test-scripts}: build-eif, run-enclave and install-host against fake
 * {@code docker} and {@code nitro-cli} binaries and a temporary root directory (never the system
 * paths of the machine that runs the test).
 */
class DeploymentScriptsTest {

  private static final Pattern SUMMARY = Pattern.compile("(?m)^(\\d+) passed, (\\d+) failed$");

  @Test
  void deploymentScriptsPassTheirTests() throws Exception {
    assumeTrue(onPath("bash") && onPath("python3"), "bash and python3 are needed by the scripts");
    Path root = repoRoot();
    Path log = Files.createTempFile("keycast-test-scripts", ".log");
    try {
      Process process =
          new ProcessBuilder("bash", root.resolve("scripts/test-scripts").toString())
              .directory(root.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      boolean finished = process.waitFor(5, TimeUnit.MINUTES);
      if (!finished) {
        process.destroyForcibly();
      }
      String output = Files.readString(log, StandardCharsets.UTF_8);
      assertThat(finished)
          .as("scripts/test-scripts finished in time; output:%n%s", output)
          .isTrue();
      Matcher summary = SUMMARY.matcher(output);
      assertThat(summary.find()).as("summary line in:%n%s", output).isTrue();
      assertThat(Integer.parseInt(summary.group(2))).as("failed checks in:%n%s", output).isZero();
      assertThat(Integer.parseInt(summary.group(1))).as("passed checks").isGreaterThanOrEqualTo(40);
      assertThat(process.exitValue()).as("exit status; output:%n%s", output).isZero();
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static boolean onPath(String command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("sh", "-c", "command -v " + command).start();
    return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
  }

  static Path repoRoot() {
    String root = System.getProperty("keycast.repo.root");
    Path path = root != null ? Path.of(root) : Path.of("..");
    Path normalized = path.toAbsolutePath().normalize();
    if (!Files.isRegularFile(normalized.resolve("mvnw"))) {
      throw new IllegalStateException("not the Keycast repository root: " + normalized);
    }
    return normalized;
  }
}
