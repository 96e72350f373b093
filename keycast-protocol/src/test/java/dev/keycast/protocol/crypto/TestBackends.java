package dev.keycast.protocol.crypto;

import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * Both backends, by name, for parameterized tests. {@code openssl} is skipped (with the reason)
 * only when {@code libcrypto.so.3} cannot be loaded at all; any other failure (a symbol missing,
 * the self-test failing) fails the test.
 */
public final class TestBackends {
  private TestBackends() {}

  /** {@code ["java", "openssl"]}. */
  public static List<String> names() {
    return List.of("java", "openssl");
  }

  /** The backend called {@code name}; aborts the test if libcrypto.so.3 is not installed. */
  public static CryptoBackend get(String name) {
    if (name.equals("java")) {
      return CryptoBackends.java();
    }
    return CryptoBackends.openssl()
        .orElseGet(
            () -> {
              String why = CryptoBackends.opensslUnavailableReason().orElse("?");
              Assumptions.assumeFalse(
                  why.startsWith("cannot load " + LibCrypto.LIBRARY),
                  "libcrypto.so.3 is not installed: " + why);
              throw new AssertionError("OpenSSL backend unavailable: " + why);
            });
  }
}
