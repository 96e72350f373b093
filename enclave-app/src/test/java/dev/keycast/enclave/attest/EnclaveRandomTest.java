package dev.keycast.enclave.attest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keycast.protocol.attestation.AttesterException;
import dev.keycast.protocol.cbor.CborWriter;
import java.security.SecureRandom;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EnclaveRandomTest {
  private static byte[] randomResponse(long seed, int n) {
    byte[] r = new byte[n];
    new Random(seed).nextBytes(r);
    return NsmClientTest.ok("GetRandom", w -> w.map(1).text("random").bytes(r));
  }

  @Test
  void seedsFromNsmGetRandomAndReseedsFromIt() throws Exception {
    FakeNsmDevice device = new FakeNsmDevice();
    for (int i = 0; i < 10; i++) {
      device.answer(randomResponse(i, 16)); // 16-byte answers force several calls per seed
    }
    SecureRandom random = EnclaveRandom.seededFromNsm(new NsmClient(device));
    int afterSeed = device.requests.size();
    // 16-byte nonce + 32-byte entropy input = 48 bytes = 3 calls of 16
    assertThat(afterSeed).isEqualTo(3);
    assertThat(device.requests)
        .allSatisfy(r -> assertThat(r).isEqualTo(new CborWriter().text("GetRandom").toByteArray()));
    byte[] a = new byte[64];
    byte[] b = new byte[64];
    random.nextBytes(a);
    random.nextBytes(b);
    assertThat(a).isNotEqualTo(b).isNotEqualTo(new byte[64]);
    assertThat(device.requests).hasSize(afterSeed); // generating does not touch the NSM
    random.reseed();
    assertThat(device.requests).hasSize(afterSeed + 2);
  }

  @Test
  void nsmFailureAtStartIsATypedError() {
    FakeNsmDevice device = new FakeNsmDevice();
    device.answer(new CborWriter().map(1).text("Error").text("InternalError").toByteArray());
    Throwable t = catchThrowable(() -> EnclaveRandom.seededFromNsm(new NsmClient(device)));
    assertThat(t).isInstanceOf(AttesterException.class).hasCauseInstanceOf(NsmException.class);
  }

  @Test
  void nsmFailureDuringInstantiationIsATypedError() {
    FakeNsmDevice device = new FakeNsmDevice();
    device.answer(randomResponse(1, 16)); // the nonce succeeds, the entropy input fails
    device.answer(new CborWriter().map(1).text("Error").text("InternalError").toByteArray());
    Throwable t =
        catchThrowable(
            () -> EnclaveRandom.seededFromNsm(new NsmClient(device)).nextBytes(new byte[8]));
    assertThat(t).isInstanceOf(AttesterException.class).hasCauseInstanceOf(NsmException.class);
  }

  @Test
  void largeRequestsAreServedAndSetSeedReseeds() throws Exception {
    FakeNsmDevice device = new FakeNsmDevice();
    for (int i = 0; i < 5; i++) {
      device.answer(randomResponse(i, 32));
    }
    SecureRandom random = EnclaveRandom.seededFromNsm(new NsmClient(device));
    assertThat(device.requests).hasSize(2);
    byte[] big = new byte[(1 << 20) + 3]; // BouncyCastle alone refuses more than 32 KiB per call
    random.nextBytes(big);
    byte[] lastChunk = java.util.Arrays.copyOfRange(big, big.length - 3, big.length);
    assertThat(lastChunk).isNotEqualTo(new byte[3]);
    assertThat(java.util.Arrays.copyOfRange(big, 0, 32768))
        .isNotEqualTo(java.util.Arrays.copyOfRange(big, 32768, 65536));
    random.setSeed(new byte[] {1, 2, 3});
    assertThat(device.requests).hasSize(3);
    assertThat(random.getAlgorithm()).isEqualTo("Hash_DRBG/SHA-512");
  }

  @Test
  void mockModeSeedsFromTheOs() {
    SecureRandom r1 = EnclaveRandom.seededFromOs();
    SecureRandom r2 = EnclaveRandom.seededFromOs();
    byte[] a = new byte[32];
    byte[] b = new byte[32];
    r1.nextBytes(a);
    r2.nextBytes(b);
    assertThat(a).isNotEqualTo(b).isNotEqualTo(new byte[32]);
  }
}
