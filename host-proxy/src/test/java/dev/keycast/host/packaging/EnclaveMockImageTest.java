package dev.keycast.host.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * Builds the {@code mock} target of {@code Dockerfile.enclave} (the same jar and jlinked JRE as
 * the production image, started with {@code --mock --listen tcp://0.0.0.0:5000 --state /state})
 * and checks that its health endpoint answers {@code GET /v1/health} with 200.
 *
 * <p>Needs a Docker engine; where none is reachable the test is skipped with that reason.
 */
class EnclaveMockImageTest {

  private static final int PORT = 5000;

  @Test
  void mockImageBuildsAndServesHealth() throws Exception {
    assumeTrue(
        DockerClientFactory.instance().isDockerAvailable(),
        "no Docker engine reachable (Testcontainers found none): Dockerfile.enclave's mock image"
            + " cannot be built here");
    Path dockerfile = repoRoot().resolve("Dockerfile.enclave");
    assertThat(dockerfile).isRegularFile();

    ImageFromDockerfile image =
        new ImageFromDockerfile("keycast-enclave-mock-test", true)
            .withDockerfile(dockerfile)
            .withTarget("mock");
    try (GenericContainer<?> container =
        new GenericContainer<>(image)
            .withExposedPorts(PORT)
            .waitingFor(
                Wait.forHttp("/v1/health")
                    .forPort(PORT)
                    .forStatusCode(200)
                    .withStartupTimeout(Duration.ofMinutes(3)))) {
      container.start();

      URI health =
          URI.create(
              "http://" + container.getHost() + ":" + container.getMappedPort(PORT) + "/v1/health");
      try (HttpClient client = HttpClient.newHttpClient()) {
        HttpResponse<String> response =
            client.send(
                HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("GET %s", health).isEqualTo(200);
      }
      // The mock image must never run the production vsock listener.
      assertThat(container.getContainerInfo().getConfig().getEntrypoint())
          .contains("--mock", "tcp://0.0.0.0:5000")
          .doesNotContain("vsock://ANY:5000");
    }
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
