package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.VectorDirs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The content-key set vectors ({@code src/test-vectors/content-key-set}, wire-format.md section
 * 9.1): golden encodings decode to their keys and re-encode byte for byte; every broken encoding is
 * refused with the code its name starts with, and no refusal message shows key bytes.
 */
class ContentKeySetCodecVectorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Stream<Path> vectors() {
    return VectorDirs.json("content-key-set", 15);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void vector(Path file) throws Exception {
    JsonNode v = JSON.readTree(file.toFile());
    String expect = v.get("expect").asText();
    assertThat(file.getFileName().toString())
        .as("file names start with the expectation")
        .startsWith(expect + "-");
    byte[] encoded = HexFormat.of().parseHex(v.get("encoded_hex").asText());
    if (!"ok".equals(expect)) {
      try {
        ContentKeySet set = ContentKeySetCodec.decode(encoded);
        fail("accepted: " + v.get("description").asText() + " -> " + set);
      } catch (CinemaException e) {
        assertThat(e.code()).as(v.get("description").asText()).isEqualTo(expect);
        assertThat(e.getMessage())
            .as("no key bytes in a refusal")
            .doesNotContain("000102030405060708090a0b0c0d0e0f")
            .doesNotContain("f0e0d0c0b0a090807060504030201000");
      }
      return;
    }
    JsonNode parsed = v.get("parsed");
    ContentKeySet set = ContentKeySetCodec.decode(encoded);
    assertThat(set.cplId()).isEqualTo(UUID.fromString(parsed.get("cpl_id").asText()));
    assertThat(set.contentTitle()).isEqualTo(parsed.get("title").asText());
    List<ContentKey> expected = new ArrayList<>();
    for (JsonNode k : parsed.get("keys")) {
      expected.add(
          ContentKey.of(
              UUID.fromString(k.get("key_id").asText()),
              KeyType.parse(k.get("key_type").asText()),
              HexFormat.of().parseHex(k.get("key_hex").asText())));
    }
    assertThat(set.keys()).containsExactlyElementsOf(expected);
    assertThat(
            ContentKeySetCodec.encode(ContentKeySet.of(set.cplId(), set.contentTitle(), expected)))
        .as("the golden bytes are what the encoder writes")
        .isEqualTo(encoded);
  }
}
