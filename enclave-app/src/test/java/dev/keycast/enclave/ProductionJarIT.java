package dev.keycast.enclave;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * Trust tiers: the shaded jar that Dockerfile.enclave puts into the measured image
 * ({@code target/keycast-enclave.jar}) contains no mock code, so an auditor reading what runs in
 * the enclave never reads certificate minting or a mock attester, and nothing in the image can
 * select one. Runs after {@code package} (failsafe) on the jar itself.
 */
class ProductionJarIT {
  private static final Path JAR = Path.of("target", "keycast-enclave.jar");

  private static List<String> keycastClasses() throws IOException {
    List<String> names = new ArrayList<>();
    try (JarFile jar = new JarFile(JAR.toFile())) {
      jar.stream()
          .map(JarEntry::getName)
          .filter(n -> n.startsWith("dev/keycast/") && n.endsWith(".class"))
          .forEach(names::add);
    }
    return names;
  }

  private static String constantsOf(String entry) throws IOException {
    try (JarFile jar = new JarFile(JAR.toFile());
        InputStream in = jar.getInputStream(jar.getEntry(entry))) {
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void theShippedJarIsTheProductionEnclave() throws Exception {
    assertThat(Files.isRegularFile(JAR)).as("run after package: %s", JAR.toAbsolutePath()).isTrue();
    assertThat(keycastClasses())
        .contains(
            "dev/keycast/enclave/EnclaveMain.class",
            "dev/keycast/enclave/attest/NsmAttester.class",
            "dev/keycast/protocol/attestation/Attester.class")
        .hasSizeGreaterThan(100);
    try (JarFile jar = new JarFile(JAR.toFile())) {
      assertThat(jar.getManifest().getMainAttributes().getValue("Main-Class"))
          .isEqualTo("dev.keycast.enclave.EnclaveMain");
    }
  }

  @Test
  void theShippedJarContainsNoMockClass() throws Exception {
    assertThat(keycastClasses())
        .noneMatch(n -> n.startsWith("dev/keycast/mock/"))
        .noneMatch(n -> n.startsWith("dev/keycast/kms/mock/"))
        .noneMatch(n -> n.startsWith("dev/keycast/enclave/mock/"))
        .noneMatch(n -> n.substring(n.lastIndexOf('/') + 1).startsWith("Mock"));
  }

  @Test
  void noShippedClassNamesTheMockAttesterOrItsBanner() throws Exception {
    List<String> offenders = new ArrayList<>();
    for (String entry : keycastClasses()) {
      String constants = constantsOf(entry);
      if (constants.contains("dev/keycast/mock/")
          || constants.contains("MockAttester")
          || constants.contains("NOT AN ENCLAVE")) {
        offenders.add(entry);
      }
    }
    assertThat(offenders).isEmpty();
  }
}
