package dev.keycast.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.bench.LoadTool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The CI variant of issue 28's fault campaign ({@code scripts/fault-campaign}, storage.md "Fault
 * campaign"): the same driver ({@code LoadTool fault-campaign}) against a private stack of real
 * processes, with two host SIGKILLs, one enclave SIGKILL and, where this JVM may mount a tmpfs
 * (root, as in CI), one disk full under SQLite. Passes only when every acknowledged send verified
 * (receipt signature, deliveries, decrypted secrets), none that was not acknowledged is visible,
 * and the stack recovered by itself after every fault.
 */
class FaultCampaignIT {
  private final Path repo =
      Path.of(System.getProperty("keycast.repo.root", "..")).toAbsolutePath().normalize();
  private Path dir;
  private Path mount;
  private boolean passed;

  @AfterEach
  void cleanUp() throws Exception {
    if (mount != null) {
      run("umount", mount.toString());
    }
    if (passed && dir != null) {
      try (Stream<Path> walk = Files.walk(dir)) {
        for (Path p : walk.sorted((a, b) -> b.compareTo(a)).toList()) {
          Files.deleteIfExists(p);
        }
      }
    } else if (dir != null) {
      System.err.println("keycast-e2e: fault campaign state and logs kept in " + dir);
    }
  }

  @Test
  void hostAndEnclaveKilledAndDiskFullLoseNothing() throws Exception {
    // unix socket paths are limited to ~108 bytes: a short temporary path
    dir = Files.createTempDirectory("kc-fc");
    Path db = Files.createDirectories(dir.resolve("db"));
    int diskFulls = 0;
    if (run("mount", "-t", "tmpfs", "-o", "size=96m", "keycast-faults-it", db.toString()) == 0) {
      mount = db;
      diskFulls = 1;
    } else {
      System.err.println(
          "FaultCampaignIT: cannot mount a tmpfs (not root?): the disk-full fault is skipped");
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> args =
        new ArrayList<>(
            List.of(
                "fault-campaign",
                "--repo",
                repo.toString(),
                "--state",
                dir.resolve("run").toString(),
                "--db-dir",
                db.toString(),
                "--host-kills",
                "2",
                "--enclave-kills",
                "1",
                "--disk-fulls",
                Integer.toString(diskFulls),
                "--between",
                "1500",
                "--report",
                dir.resolve("report.md").toString()));
    int status =
        LoadTool.commandLine()
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args.toArray(String[]::new));
    String report = out.toString();
    assertThat(status).as("fault campaign exit status; output:%n%s%n%s", report, err).isZero();
    assertThat(report)
        .contains("| host SIGKILL | 2 |")
        .contains("| enclave SIGKILL | 1 |")
        .doesNotContain("PROBLEMS");
    if (diskFulls > 0) {
      assertThat(report).contains("| disk full (SQLite) | 1 |").contains("store_full");
    }
    assertThat(Files.readString(dir.resolve("report.md"))).contains("**whole campaign**");
    passed = true;
  }

  private static int run(String... cmd) throws Exception {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (java.io.IOException e) {
      return -1; // no mount binary
    }
  }
}
