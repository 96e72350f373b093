package dev.keycast.enclave.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real thing: a child JVM in a new network namespace ({@code unshare -n}), where {@code lo}
 * is down exactly as in a freshly booted Nitro Enclave, brings it up with {@link
 * LoopbackInterface#bringUp()}. Skipped (with the reason) where the machine does not let this
 * process create network namespaces.
 */
class LoopbackInterfaceNamespaceTest {
  private static String unshare;

  @BeforeAll
  static void needsNetworkNamespaces() throws Exception {
    unshare = which("unshare");
    assumeTrue(unshare != null, "no unshare(1) on this machine: network-namespace tests skipped");
    Run probe = run(List.of(unshare, "-n", "true"));
    assumeTrue(
        probe.exit == 0,
        "`unshare -n true` is not permitted here (exit "
            + probe.exit
            + ": "
            + probe.output.strip()
            + "): network-namespace tests skipped");
  }

  @Test
  void freshNamespaceLoopbackIsDownUntilBringUpThenCarriesTcp() throws Exception {
    Map<String, String> r = child(List.of(unshare, "-n"));
    assertThat(r.get("before")).startsWith("FAIL:"); // lo is down: connect() is unreachable
    assertThat(r.get("first"))
        .startsWith("up:true,assigned:false,address:127.0.0.1,") // the kernel assigned 127.0.0.1
        .contains("brought up; 127.0.0.1 (assigned by the kernel)");
    assertThat(r.get("second"))
        .startsWith("up:false,assigned:false,address:127.0.0.1,"); // idempotent
    assertThat(r.get("after")).isEqualTo("OK");
  }

  @Test
  void upButWithoutAddressGetsLoopbackAddressAssigned() throws Exception {
    String ip = which("ip");
    assumeTrue(ip != null, "no ip(8) on this machine: the missing-address case is skipped");
    Path sh = Path.of("/bin/sh");
    assumeTrue(Files.isExecutable(sh), "no /bin/sh");
    // lo up, then its IPv4 address removed: what an enclave kernel that does not auto-assign leaves
    Map<String, String> r =
        child(
            List.of(
                unshare,
                "-n",
                sh.toString(),
                "-c",
                ip
                    + " link set lo up && "
                    + ip
                    + " addr del 127.0.0.1/8 dev lo && exec \"$0\" \"$@\""));
    assertThat(r.get("before")).startsWith("FAIL:");
    assertThat(r.get("first")).startsWith("up:false,assigned:true,address:127.0.0.1,");
    assertThat(r.get("second")).startsWith("up:false,assigned:false,address:127.0.0.1,");
    assertThat(r.get("after")).isEqualTo("OK");
  }

  @Test
  void withoutCapNetAdminTheTypedErrorCarriesEperm() throws Exception {
    String setpriv = which("setpriv");
    assumeTrue(setpriv != null, "no setpriv(1) on this machine: the EPERM case is skipped");
    Map<String, String> r =
        child(
            List.of(unshare, "-n", setpriv, "--bounding-set=-net_admin", "--inh-caps=-net_admin"));
    assertThat(r.get("first"))
        .startsWith("error:errno:1,operation:ioctl(SIOCSIFFLAGS, \"lo\"),")
        .contains("(errno 1 EPERM)");
    assertThat(r.get("after")).startsWith("FAIL:");
  }

  /** Runs {@link LoopbackChild} under {@code prefix} and parses its key=value lines. */
  private static Map<String, String> child(List<String> prefix) throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("-cp");
    cmd.add(
        location(LoopbackInterface.class)
            + java.io.File.pathSeparator
            + location(LoopbackChild.class));
    cmd.add(LoopbackChild.class.getName());
    Run run = run(cmd);
    assertThat(run.exit).as("child exit; output:%n%s", run.output).isZero();
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : run.output.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0 && line.substring(0, eq).matches("[a-z]+")) {
        out.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    assertThat(out)
        .as("child output:%n%s", run.output)
        .containsKeys("before", "first", "second", "after");
    return out;
  }

  private static String location(Class<?> c) throws URISyntaxException {
    return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
  }

  private record Run(int exit, String output) {}

  private static Run run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + cmd);
    }
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private static String which(String name) {
    for (String dir : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }
}
