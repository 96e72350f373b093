package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ExpectedPcrsTest {
  private static final String A = "aa".repeat(48);
  private static final String B = "bb".repeat(48);
  private static final String C = "cc".repeat(48);

  private static ExpectedPcrs parse(String json) throws MalformedInputException {
    return ExpectedPcrs.parseJson(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void keycastFormatWithTwoSets() throws Exception {
    ExpectedPcrs p =
        parse(
            "{\"version\":1,\"allowed\":[{\"PCR0\":\""
                + A
                + "\",\"PCR1\":\""
                + B
                + "\",\"PCR2\":\""
                + C
                + "\",\"PCR8\":\""
                + A
                + "\"},{\"PCR0\":\""
                + B.toUpperCase()
                + "\",\"PCR1\":\""
                + B
                + "\",\"PCR2\":\""
                + C
                + "\"}]}");
    assertThat(p.sets()).hasSize(2);
    assertThat(p.sets().get(0)).containsOnlyKeys(0, 1, 2, 8);
    assertThat(p.sets().get(1).get(0)).isEqualTo(TestAttester.pcrValue(0xbb));
    assertThat(parse(p.toJson()).toJson()).isEqualTo(p.toJson());
  }

  @Test
  void aDeploymentFileNamesTheKmsKeyInEveryForm() throws Exception {
    String arn = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-1111-2222-3333-444455556666";
    String pcrs = "\"PCR0\":\"" + A + "\",\"PCR1\":\"" + B + "\",\"PCR2\":\"" + C + "\"";
    for (String json :
        new String[] {
          "{\"version\":1,\"kms_key_arn\":\"" + arn + "\",\"allowed\":[{" + pcrs + "}]}",
          "{\"kms_key_arn\":\""
              + arn
              + "\",\"Measurements\":{\"HashAlgorithm\":\"Sha384 { ... }\","
              + pcrs
              + "}}",
          "{\"format\":\"keycast-measurements/1\",\"kms_key_arn\":\""
              + arn
              + "\",\"pcrs\":{"
              + pcrs
              + "}}"
        }) {
      byte[] b = json.getBytes(StandardCharsets.UTF_8);
      assertThat(ExpectedPcrs.parseJson(b).sets()).hasSize(1);
      assertThat(ExpectedPcrs.kmsKeyArn(b)).contains(arn);
    }
    byte[] none = ("{\"version\":1,\"allowed\":[{" + pcrs + "}]}").getBytes(StandardCharsets.UTF_8);
    assertThat(ExpectedPcrs.kmsKeyArn(none)).isEmpty();
    for (String bad : new String[] {"1", "\"\"", "[\"" + arn + "\"]", "\"arn with space\""}) {
      byte[] b =
          ("{\"version\":1,\"kms_key_arn\":" + bad + ",\"allowed\":[{" + pcrs + "}]}")
              .getBytes(StandardCharsets.UTF_8);
      assertThatThrownBy(() -> ExpectedPcrs.kmsKeyArn(b))
          .as(bad)
          .isInstanceOf(MalformedInputException.class);
    }
    // a second kms_key_arn (one for a checker, one for a user) is malformed, not "last wins"
    byte[] twice =
        ("{\"version\":1,\"kms_key_arn\":\""
                + arn
                + "\",\"kms_key_arn\":\""
                + arn
                + "x\",\"allowed\":[{"
                + pcrs
                + "}]}")
            .getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> ExpectedPcrs.kmsKeyArn(twice))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> ExpectedPcrs.parseJson(twice))
        .isInstanceOf(MalformedInputException.class);
  }

  @Test
  void buildEifMeasurementsFile() throws Exception {
    String json =
        """
        {"format":"keycast-measurements/1","eif":"keycast.eif","hashAlgorithm":"SHA384",
         "pcrs":{"PCR0":"%s","PCR1":"%s","PCR2":"%s"}}"""
            .formatted(A, B, C);
    ExpectedPcrs p = parse(json);
    assertThat(p.sets()).hasSize(1);
    assertThat(p.sets().get(0)).containsOnlyKeys(0, 1, 2);
    assertThat(p.sets().get(0).get(2)).isEqualTo(TestAttester.pcrValue(0xcc));
    assertThatThrownBy(() -> parse(json.replace("measurements/1", "measurements/2")))
        .isInstanceOfSatisfying(
            MalformedInputException.class,
            e -> assertThat(e.code()).isEqualTo("unsupported_version"));
  }

  @Test
  void nitroCliBuildOutput() throws Exception {
    String json =
        """
        {
          "Measurements": {
            "HashAlgorithm": "Sha384 { ... }",
            "PCR0": "%s",
            "PCR1": "%s",
            "PCR2": "%s"
          }
        }"""
            .formatted(A, B, C);
    ExpectedPcrs p = parse(json);
    assertThat(p.sets()).hasSize(1);
    assertThat(p.sets().get(0).get(2)).isEqualTo(TestAttester.pcrValue(0xcc));
  }

  static Stream<Arguments> bad() {
    return Stream.of(
        Arguments.of("not json", "{", "malformed"),
        Arguments.of("array", "[]", "malformed"),
        Arguments.of("version 2", "{\"version\":2,\"allowed\":[]}", "unsupported_version"),
        Arguments.of("no version", "{\"allowed\":[]}", "malformed"),
        Arguments.of("empty allowed", "{\"version\":1,\"allowed\":[]}", "malformed"),
        Arguments.of(
            "PCR1 missing",
            "{\"version\":1,\"allowed\":[{\"PCR0\":\"" + A + "\",\"PCR2\":\"" + A + "\"}]}",
            "malformed"),
        Arguments.of(
            "PCR5 not allowed",
            "{\"version\":1,\"allowed\":[{\"PCR0\":\""
                + A
                + "\",\"PCR1\":\""
                + A
                + "\",\"PCR2\":\""
                + A
                + "\",\"PCR5\":\""
                + A
                + "\"}]}",
            "malformed"),
        Arguments.of(
            "short hex",
            "{\"version\":1,\"allowed\":[{\"PCR0\":\"aa\",\"PCR1\":\""
                + A
                + "\",\"PCR2\":\""
                + A
                + "\"}]}",
            "malformed"),
        Arguments.of(
            "unknown key",
            "{\"version\":1,\"allowed\":[{\"PCR0\":\"" + A + "\"}],\"x\":1}",
            "malformed"),
        Arguments.of("duplicate key", "{\"version\":1,\"version\":1,\"allowed\":[]}", "malformed"),
        Arguments.of(
            "trailing tokens",
            "{\"version\":1,\"allowed\":[{\"PCR0\":\""
                + A
                + "\",\"PCR1\":\""
                + A
                + "\",\"PCR2\":\""
                + A
                + "\"}]} {}",
            "malformed"),
        Arguments.of(
            "nitro-cli sha256",
            "{\"Measurements\":{\"HashAlgorithm\":\"Sha256\",\"PCR0\":\"" + A + "\"}}",
            "malformed"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("bad")
  void rejects(String name, String json, String code) {
    assertThatThrownBy(() -> parse(json))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void rejectsOversizedFile() {
    assertThatThrownBy(() -> ExpectedPcrs.parseJson(new byte[ExpectedPcrs.MAX_FILE_BYTES + 1]))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("oversize"));
  }
}
