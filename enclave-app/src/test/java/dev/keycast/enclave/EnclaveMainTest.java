package dev.keycast.enclave;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.server.FakeKeySetService;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The production command line has no mock mode: mock options are unknown, not ignored. */
class EnclaveMainTest {
  private static int run(ByteArrayOutputStream err, String... args) {
    CommandLine cmd = new CommandLine(new EnclaveMain((a, r, k, arns) -> new FakeKeySetService()));
    cmd.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    return cmd.execute(args);
  }

  @Test
  void theProductionCommandHasNoMockMode() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertThat(run(err, "--mock", "--listen", "tcp://127.0.0.1:0", "--state", "/tmp/x"))
        .isNotZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("Unknown option").contains("--mock");
  }

  @Test
  void theProductionCommandTrustsNoKmsCertificateButAmazons() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertThat(run(err, "--listen", "tcp://127.0.0.1:0", "--kms-tls-cert", "/tmp/x.pem"))
        .isNotZero();
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("Unknown option")
        .contains("--kms-tls-cert");
  }

  @Test
  void aMalformedImageApproverStopsTheEnclaveBeforeItServes() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertThat(run(err, "--listen", "tcp://127.0.0.1:0", "--image-approver", "not-a-key"))
        .isNotZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--image-approver");
  }

  @Test
  void aQuorumLargerThanTheApproversIsRefused() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String key = "ab".repeat(32);
    assertThat(
            run(
                err,
                "--listen",
                "tcp://127.0.0.1:0",
                "--image-approver",
                key,
                "--image-approval-quorum",
                "2"))
        .isNotZero();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--image-approver");
  }
}
