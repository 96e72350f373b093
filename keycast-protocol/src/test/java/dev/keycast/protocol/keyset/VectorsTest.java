package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Runs the committed sealed-key-set and sealed-secret vectors, and checks they are reproducible. */
class VectorsTest {
  private static final HexFormat HEX = HexFormat.of();

  static List<VectorFile> keysetVectors() {
    return VectorFile.load("keyset");
  }

  static List<VectorFile> secretVectors() {
    return VectorFile.load("secret");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("keysetVectors")
  void sealedKeySetVector(VectorFile v) throws Exception {
    byte[] dataKey = v.hex("data-key", null);
    if (v.expect().equals("ok")) {
      SealedKeySet s = SealedKeySet.parse(v.input());
      assertThat(s.kmsKeyId()).isEqualTo(v.fields().get("kms-key-id"));
      assertThat(s.keySetId()).isEqualTo(v.fields().get("key-set-id"));
      assertThat(s.encryptedDataKey()).isEqualTo(KeySetVectors.ENCRYPTED_DATA_KEY);
      KeySet ks = s.unseal(dataKey);
      KeyBundle b = s.bundle();
      assertThat(b).isEqualTo(ks.bundle(s.kmsKeyId()));
      assertThat(b.kmsKeyId()).isEqualTo(v.fields().get("kms-key-id"));
      assertThat(HEX.formatHex(b.encode())).isEqualTo(v.fields().get("key-bundle"));
      assertThat(KeyBundle.parse(HEX.parseHex(v.fields().get("key-bundle")))).isEqualTo(b);
      assertThat(HEX.formatHex(b.receivePublicKey()))
          .isEqualTo(v.fields().get("receive-public-key"));
      assertThat(HEX.formatHex(b.signingPublicKey()))
          .isEqualTo(v.fields().get("signing-public-key"));
      assertThat(HEX.formatHex(b.receivePublicKeySpki()))
          .isEqualTo(v.fields().get("receive-public-key-spki"));
      assertThat(HEX.formatHex(b.userData())).isEqualTo(v.fields().get("user-data"));
      KeySet expected = KeySetVectors.keySet();
      assertThat(ks.receivePrivateKey()).isEqualTo(expected.receivePrivateKey());
      assertThat(ks.signingPrivateKey()).isEqualTo(expected.signingPrivateKey());
      assertThat(ks.storageKey()).isEqualTo(expected.storageKey());
      return;
    }
    assertThat(v.name()).endsWith(".fail");
    expectFailure(v, () -> SealedKeySet.parse(v.input()).unseal(dataKey));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("secretVectors")
  void sealedSecretVector(VectorFile v) throws Exception {
    KeySet ks =
        KeySetVectors.keySet(v.fields().getOrDefault("key-set-seed", KeySetVectors.KEY_SET_SEED));
    byte[] policy = v.hex("policy", KeySetVectors.POLICY);
    if (v.expect().equals("ok")) {
      SealedSecret s = SealedSecret.parse(v.input());
      assertThat(s.secretId()).isEqualTo(v.fields().get("secret-id"));
      assertThat(s.keySetId()).isEqualTo(ks.id());
      assertThat(s.open(ks, policy)).isEqualTo(v.hex("secret", null));
      String sender = v.fields().get("sender-key");
      assertThat(s.version())
          .isEqualTo(sender == null ? SealedSecret.VERSION : SealedSecret.VERSION_WITH_SENDER);
      assertThat(s.senderKey() == null ? null : java.util.HexFormat.of().formatHex(s.senderKey()))
          .isEqualTo(sender);
      assertThat(s.senderSignedAt() == null ? null : s.senderSignedAt().toString())
          .isEqualTo(v.fields().get("sender-signed-at"));
      return;
    }
    assertThat(v.name()).endsWith(".fail");
    expectFailure(v, () -> SealedSecret.parse(v.input()).open(ks, policy));
  }

  interface Action {
    Object run() throws Exception;
  }

  static void expectFailure(VectorFile v, Action a) {
    String expect = v.expect();
    if (expect.equals("decryption_failed")) {
      assertThatThrownBy(a::run)
          .isExactlyInstanceOf(DecryptionFailedException.class)
          .hasMessage(DecryptionFailedException.MESSAGE);
    } else {
      assertThat(expect).startsWith("malformed:");
      assertThatThrownBy(a::run)
          .isInstanceOf(MalformedInputException.class)
          .extracting(e -> ((MalformedInputException) e).code())
          .isEqualTo(expect.substring("malformed:".length()));
    }
  }

  @Test
  void committedVectorsAreExactlyWhatTheGeneratorProduces() {
    Map<String, String> generated = KeySetVectors.generate();
    for (Map.Entry<String, String> e : generated.entrySet()) {
      Path p =
          VectorFile.directory(e.getKey().substring(0, e.getKey().indexOf('/')))
              .resolve(e.getKey().substring(e.getKey().indexOf('/') + 1));
      assertThat(VectorFile.read(p)).as(e.getKey()).isEqualTo(e.getValue());
    }
    Set<String> committed =
        Stream.of("keyset", "secret")
            .flatMap(f -> VectorFile.load(f).stream().map(v -> f + "/" + v.name()))
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(committed).isEqualTo(generated.keySet());
  }

  @Test
  void everyFailureKindIsCovered() {
    Set<String> names =
        Stream.concat(keysetVectors().stream(), secretVectors().stream())
            .map(VectorFile::name)
            .collect(Collectors.toSet());
    assertThat(names)
        .contains(
            "truncated-truncated-header.fail",
            "decryption_failed-flipped-bit-tag.fail",
            "decryption_failed-flipped-bit-ciphertext.fail",
            "unsupported_version-unsupported-version.fail",
            "oversize-oversize.fail",
            "decryption_failed-header-receive-key-swapped.fail",
            "decryption_failed-wrong-data-key.fail",
            "decryption_failed-wrong-policy.fail");
  }
}
