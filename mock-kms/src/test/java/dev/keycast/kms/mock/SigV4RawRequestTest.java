package dev.keycast.kms.mock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/** SigV4 checks on raw HTTP requests signed by the SDK's own signer, then altered. */
class SigV4RawRequestTest {
  @TempDir Path state;
  private MockKms kms;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    kms = MockKms.start(KmsFixture.config(state, List.of(TestNitroPki.create("x").root)).build());
  }

  @AfterEach
  void stop() {
    kms.close();
  }

  private Map<String, List<String>> sign(String target, byte[] body, String region) {
    URI uri = kms.endpoint().resolve("/");
    SignedRequest signed =
        AwsV4HttpSigner.create()
            .sign(
                r ->
                    r.identity(
                            AwsCredentialsIdentity.create(
                                KmsFixture.ADMIN.accessKeyId(), KmsFixture.ADMIN.secretAccessKey()))
                        .request(
                            SdkHttpRequest.builder()
                                .method(SdkHttpMethod.POST)
                                .uri(uri)
                                .putHeader("Content-Type", "application/x-amz-json-1.1")
                                .putHeader("X-Amz-Target", target)
                                .build())
                        .payload(ContentStreamProvider.fromByteArray(body))
                        .putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "kms")
                        .putProperty(AwsV4HttpSigner.REGION_NAME, region));
    return signed.request().headers();
  }

  private HttpResponse<String> send(Map<String, List<String>> headers, byte[] body)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(kms.endpoint().resolve("/"));
    headers.forEach(
        (k, vs) -> {
          if (!k.equalsIgnoreCase("Host") && !k.equalsIgnoreCase("Content-Length")) {
            vs.forEach(v -> b.header(k, v));
          }
        });
    return http.send(
        b.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String type(HttpResponse<String> r) throws Exception {
    return new ObjectMapper().readTree(r.body()).path("__type").asText();
  }

  @Test
  void signedRequestIsAcceptedAndAlterationsAreRejected() throws Exception {
    byte[] body = "{\"NumberOfBytes\":8}".getBytes(StandardCharsets.UTF_8);
    Map<String, List<String>> headers = sign("TrentService.GenerateRandom", body, "us-east-1");
    HttpResponse<String> ok = send(headers, body);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    assertThat(new ObjectMapper().readTree(ok.body()).get("Plaintext").binaryValue()).hasSize(8);

    HttpResponse<String> alteredBody =
        send(headers, "{\"NumberOfBytes\":9}".getBytes(StandardCharsets.UTF_8));
    assertThat(alteredBody.statusCode()).isEqualTo(400);
    assertThat(type(alteredBody)).isEqualTo("InvalidSignatureException");

    Map<String, List<String>> alteredHeader =
        new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    alteredHeader.putAll(headers);
    alteredHeader.put("X-Amz-Target", List.of("TrentService.ListKeys"));
    HttpResponse<String> r = send(alteredHeader, body);
    assertThat(type(r)).isEqualTo("InvalidSignatureException");
  }

  @Test
  void wrongRegionIsRejected() throws Exception {
    byte[] body = "{\"NumberOfBytes\":8}".getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> r = send(sign("TrentService.GenerateRandom", body, "eu-west-1"), body);
    assertThat(type(r)).isEqualTo("InvalidSignatureException");
    assertThat(r.body()).contains("region");
  }

  @Test
  void unknownOperationAndBadJsonAreTyped() throws Exception {
    byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
    assertThat(type(send(sign("TrentService.ReEncrypt", body, "us-east-1"), body)))
        .isEqualTo("UnknownOperationException");
    byte[] bad = "{\"NumberOfBytes\":".getBytes(StandardCharsets.UTF_8);
    assertThat(type(send(sign("TrentService.GenerateRandom", bad, "us-east-1"), bad)))
        .isEqualTo("SerializationException");
  }
}
