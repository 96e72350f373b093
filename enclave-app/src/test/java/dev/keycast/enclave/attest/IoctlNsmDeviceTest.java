package dev.keycast.enclave.attest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class IoctlNsmDeviceTest {
  private static final Path NULL = Path.of("/dev/null");

  @Test
  void ioctlOnANonNsmDeviceReportsEnotty() throws Exception {
    // exercises the whole FFM path (open, ioctl with the variadic struct pointer, errno capture)
    assumeTrue(Files.exists(NULL), "no /dev/null on this machine");
    try (IoctlNsmDevice device = IoctlNsmDevice.open(NULL)) {
      Throwable t = catchThrowable(() -> device.call(new byte[] {0x60}));
      assertThat(t).isInstanceOf(NsmDeviceException.class).hasMessageContaining("ENOTTY");
      assertThat(((NsmDeviceException) t).errno()).isEqualTo(25);
    }
  }

  @Test
  void openingAMissingDeviceReportsEnoent() {
    Throwable t = catchThrowable(() -> IoctlNsmDevice.open(Path.of("/nonexistent/keycast/nsm")));
    assertThat(t).isInstanceOf(NsmDeviceException.class).hasMessageContaining("ENOENT");
    assertThat(((NsmDeviceException) t).errno()).isEqualTo(2);
  }

  @Test
  void oversizedAndClosedCallsFailWithoutTouchingTheDevice() throws Exception {
    assumeTrue(Files.exists(NULL), "no /dev/null on this machine");
    IoctlNsmDevice device = IoctlNsmDevice.open(NULL);
    assertThatThrownBy(() -> device.call(new byte[NsmDevice.MAX_REQUEST_BYTES + 1]))
        .isInstanceOf(NsmDeviceException.class)
        .hasMessageContaining("outside 1..4096");
    device.close();
    device.close();
    assertThatThrownBy(() -> device.call(new byte[] {0x60}))
        .isInstanceOf(NsmDeviceException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void requestNumberIsIowrOfNsmRaw() {
    long dir = 3L << 30; // _IOC_READ | _IOC_WRITE
    long size = 32L << 16; // sizeof(struct nsm_raw)
    long type = 0x0AL << 8; // NSM_MAGIC
    assertThat(IoctlNsmDevice.NSM_IOCTL_RAW).isEqualTo(dir | size | type);
  }

  /** Runs only inside a Nitro Enclave, where /dev/nsm exists. */
  @Test
  void realNsmAnswers() throws Exception {
    assumeTrue(
        Files.exists(IoctlNsmDevice.DEFAULT_PATH),
        "/dev/nsm does not exist: not inside a Nitro Enclave, real NSM test skipped");
    try (IoctlNsmDevice device = IoctlNsmDevice.open()) {
      NsmClient client = new NsmClient(device);
      NsmClient.NsmDescription d = client.describeNsm();
      assertThat(d.digest()).isEqualTo("SHA384");
      assertThat(d.lockedPcrs()).contains(0, 1, 2);
      assertThat(client.getRandom()).isNotEmpty();
      assertThat(client.describePcr(0).data()).hasSize(48);
      byte[] nonce = client.getRandom();
      byte[] doc =
          client.attestation(new byte[] {1, 2, 3}, java.util.Arrays.copyOf(nonce, 16), null);
      assertThat(java.util.HexFormat.of().formatHex(doc)).startsWith("8444a1013822a0");
      Throwable t = catchThrowable(() -> client.describePcr(4000));
      assertThat(t).isInstanceOf(NsmException.class);
    }
  }
}
