package dev.keycast.protocol.cinema;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test support: the independent checkers xmllint and xmlsec1. On CI (environment variable CI set)
 * a missing tool fails the test; on a developer machine the test is skipped with a message.
 */
final class ExternalTools {
  /** Exit status and merged output of a finished command. */
  record Result(int exit, String output) {}

  private ExternalTools() {}

  static void require(String tool) {
    boolean present;
    try {
      Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      present = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      present = false;
    }
    String msg = tool + " is not on PATH (Debian: apt-get install libxml2-utils xmlsec1)";
    if (!present && System.getenv("CI") != null) {
      fail(msg + "; CI must have it");
    }
    assumeTrue(present, msg);
  }

  static void requireOpenssl() {
    boolean present;
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      present = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      present = false;
    }
    if (!present && System.getenv("CI") != null) {
      fail("openssl is not on PATH; CI must have it");
    }
    assumeTrue(present, "openssl is not on PATH");
  }

  /** Runs a shell pipeline; fails the test unless it exits 0; returns its standard output. */
  static String sh(String pipeline) throws IOException, InterruptedException {
    Result r = run(List.of("bash", "-o", "pipefail", "-c", pipeline));
    if (r.exit() != 0) {
      fail("command failed (" + r.exit() + "): " + pipeline + "\n" + r.output());
    }
    return r.output();
  }

  static Result run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("timed out: " + command);
    }
    return new Result(p.exitValue(), out);
  }

  /** The SMPTE KDM schema wrapper kept in the project (src/test-vectors/smpte-xsd). */
  static Path kdmSchema() {
    String vectors = System.getProperty("keycast.vectors", "../src/test-vectors");
    Path p = Path.of(vectors, "smpte-xsd", "kdm-all.xsd");
    if (!Files.isRegularFile(p)) {
      fail("SMPTE schemas missing at " + p);
    }
    return p;
  }

  /** xmllint --schema kdm-all.xsd on a KDM file. */
  static Result xmllint(Path kdm) throws IOException, InterruptedException {
    require("xmllint");
    return run(
        List.of(
            "xmllint", "--noout", "--nonet", "--schema", kdmSchema().toString(), kdm.toString()));
  }

  /** xmlsec1 --verify with the ETM Id attributes and the signer root as the only trusted certificate. */
  static Result xmlsec1Verify(Path kdm, Path trustedRoot) throws IOException, InterruptedException {
    require("xmlsec1");
    return run(
        List.of(
            "xmlsec1",
            "--verify",
            "--id-attr:Id",
            "http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPublic",
            "--id-attr:Id",
            "http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPrivate",
            "--trusted-pem",
            trustedRoot.toString(),
            kdm.toString()));
  }
}
