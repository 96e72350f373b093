package dev.keycast.enclave.attest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keycast.protocol.attestation.AttesterException;
import dev.keycast.protocol.cbor.CborWriter;
import org.junit.jupiter.api.Test;

class NsmAttesterTest {
  @Test
  void asksTheNsmAndIsNotAMock() throws Exception {
    byte[] doc = {(byte) 0x84, 0x44, (byte) 0xa1, 0x01, 0x38, 0x22};
    FakeNsmDevice device =
        new FakeNsmDevice()
            .answer(
                NsmClientTest.describeNsmResponse(),
                NsmClientTest.ok("Attestation", w -> w.map(1).text("document").bytes(doc)));
    NsmAttester attester = NsmAttester.create(new NsmClient(device));
    assertThat(attester.isMock()).isFalse();
    assertThat(attester.describe()).contains("i-0a22e5c5f24d22174-enc0191cceb4289903f");
    assertThat(attester.attest(new byte[] {1}, new byte[] {2}, null)).isEqualTo(doc);
    assertThat(device.requests).hasSize(2);
  }

  @Test
  void nsmErrorsBecomeAttestationExceptions() throws Exception {
    FakeNsmDevice device =
        new FakeNsmDevice()
            .answer(
                NsmClientTest.describeNsmResponse(),
                new CborWriter().map(1).text("Error").text("InvalidArgument").toByteArray());
    NsmAttester attester = NsmAttester.create(new NsmClient(device));
    Throwable t = catchThrowable(() -> attester.attest(null, null, null));
    assertThat(t).isInstanceOf(AttesterException.class).hasCauseInstanceOf(NsmException.class);
  }

  @Test
  void aMissingDeviceFailsAtCreation() {
    FakeNsmDevice device = new FakeNsmDevice();
    device.failWith = new NsmDeviceException("cannot open /dev/nsm", 2);
    Throwable t = catchThrowable(() -> NsmAttester.create(new NsmClient(device)));
    assertThat(t)
        .isInstanceOf(AttesterException.class)
        .hasCauseInstanceOf(NsmDeviceException.class);
  }
}
