package dev.keycast.protocol.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.VectorDirs;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The send policy vectors of send-policy.md ({@code src/test-vectors/send-policy}): each file's
 * name starts with what it expects ({@code ok-}, or the error code), and so does its {@code expect}
 * member. Acceptance is what the enclave does before the fan-out: parse ({@link SendPolicy#parse}),
 * build the {@link Eligibility} (anchors parse), and carry the window and sender in delivery
 * metadata ({@link DeliveryMetadata#of}); any refusal is reported with its stable code.
 */
class SendPolicyVectorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Stream<Path> vectors() {
    return VectorDirs.json("send-policy", 20);
  }

  /** The enclave's acceptance of a policy: the code of its refusal, or "ok". */
  static String accept(byte[] policyBytes, Eligibility[] out) {
    try {
      SendPolicy p = SendPolicy.parse(policyBytes);
      Eligibility e = new Eligibility(p);
      DeliveryMetadata.of(p.secretId(), p.sender(), p.notBefore(), p.notAfter(), "0".repeat(64));
      out[0] = e;
      return "ok";
    } catch (MalformedInputException e) {
      return e.code();
    } catch (Eligibility.InvalidPolicyException | IllegalArgumentException e) {
      return "invalid_policy";
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void vector(Path file) throws Exception {
    JsonNode v = JSON.readTree(file.toFile());
    String expect = v.get("expect").asText();
    String name = file.getFileName().toString();
    assertThat(name).as("file names start with the expectation").startsWith(expect + "-");
    byte[] bytes =
        v.has("policy_text")
            ? v.get("policy_text").asText().getBytes(StandardCharsets.UTF_8)
            : JSON.writeValueAsBytes(v.get("policy"));
    Eligibility[] eligibility = new Eligibility[1];
    assertThat(accept(bytes, eligibility)).as(v.get("description").asText()).isEqualTo(expect);
    if (!"ok".equals(expect)) {
      return;
    }
    SendPolicy p = eligibility[0].policy();
    JsonNode parsed = v.path("parsed");
    if (parsed.has("rsa_content")) {
      assertThat(p.rsaContent()).isEqualTo(parsed.get("rsa_content").asText());
    }
    if (parsed.has("late_recipients")) {
      assertThat(p.lateRecipients()).isEqualTo(parsed.get("late_recipients").asBoolean());
    }
    if (parsed.has("max_recipients")) {
      assertThat(p.maxRecipients()).isEqualTo(parsed.get("max_recipients").asInt());
    }
    if (parsed.has("sender")) {
      assertThat(p.sender()).isEqualTo(parsed.get("sender").asText());
    }
    if (parsed.has("thumbprints")) {
      assertThat(p.recipients().thumbprints())
          .containsExactlyElementsOf(
              JSON.convertValue(parsed.get("thumbprints"), new TypeReference<List<String>>() {}));
    }
    if (parsed.has("kdm")) {
      JsonNode k = parsed.get("kdm");
      assertThat(p.isKdmSend()).isTrue();
      assertThat(p.kdm().formulation()).isEqualTo(k.get("formulation").asText());
      assertThat(p.kdm().forensicMarkFlags())
          .containsExactlyElementsOf(
              JSON.convertValue(
                  k.get("forensic_mark_flags"), new TypeReference<List<String>>() {}));
      assertThat(p.kdm().contentAuthenticator())
          .isEqualTo(k.path("content_authenticator").textValue());
      assertThat(p.kdm().annotation()).isEqualTo(k.path("annotation").textValue());
    } else {
      assertThat(p.isKdmSend()).as("a policy without kdm is no KDM send").isFalse();
    }
    for (JsonNode d : v.path("decisions")) {
      // a decision's optional chain: base64 DER certificates, leaf first
      List<X509Certificate> chain = new ArrayList<>();
      for (JsonNode c : d.path("chain")) {
        chain.add(
            (X509Certificate)
                CertificateFactory.getInstance("X.509")
                    .generateCertificate(
                        new ByteArrayInputStream(Base64.getDecoder().decode(c.asText()))));
      }
      Eligibility.Decision decision =
          eligibility[0].decide(
              d.get("fingerprint").asText(),
              chain,
              Instant.parse(d.get("now").asText()),
              d.get("late").asBoolean());
      String got = decision.eligible() ? "eligible" : decision.reason();
      assertThat(got)
          .as(
              "%s at %s late=%s",
              d.get("fingerprint").asText().substring(0, 8),
              d.get("now").asText(),
              d.get("late").asBoolean())
          .isEqualTo(d.get("expect").asText());
    }
  }
}
