package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;

/**
 * Coverage-guided fuzz targets for the sealed formats the host stores and hands back to the
 * enclave: sealed key sets, sealed secrets and key bundles (the host is the attacker here).
 *
 * <p>Contract: parsing throws only {@link MalformedInputException} with a stable code and unsealing
 * only {@link DecryptionFailedException}; allocation stays linear in the input; a parsed value
 * re-encodes to exactly the input; and only the golden bytes unseal, because every byte is
 * authenticated (AES-GCM with the header as additional data).
 */
class SealedFormatsFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 64;
  private static final byte[] GOLDEN_KEY_SET = KeySetVectors.goldenSealedKeySet();
  private static final byte[] GOLDEN_SECRET = KeySetVectors.goldenSealedSecret();
  private static final KeySet KEY_SET = KeySetVectors.keySet();

  @FuzzTest
  void sealedKeySet(byte[] input) {
    Outcome<SealedKeySet> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> SealedKeySet.parse(input),
            MalformedInputException.class);
    if (!parsed.ok()) {
      return;
    }
    assertThat(parsed.value().encode()).isEqualTo(input);
    Outcome<KeySet> unsealed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> parsed.value().unseal(KeySetVectors.DATA_KEY),
            DecryptionFailedException.class);
    if (unsealed.ok()) {
      assertThat(input).as("only the authentic sealed key set unseals").isEqualTo(GOLDEN_KEY_SET);
      assertThat(unsealed.value().signingPublicKey()).isEqualTo(KEY_SET.signingPublicKey());
    } else {
      assertThat(unsealed.error()).hasMessage(DecryptionFailedException.MESSAGE);
    }
  }

  @FuzzTest
  void sealedSecret(byte[] input) {
    Outcome<SealedSecret> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> SealedSecret.parse(input),
            MalformedInputException.class);
    if (!parsed.ok()) {
      return;
    }
    assertThat(parsed.value().encode()).isEqualTo(input);
    Outcome<byte[]> opened =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> parsed.value().open(KEY_SET, KeySetVectors.POLICY),
            DecryptionFailedException.class);
    if (opened.ok()) {
      assertThat(input).as("only the authentic sealed secret opens").isEqualTo(GOLDEN_SECRET);
      assertThat(opened.value()).isEqualTo(KeySetVectors.SECRET);
    } else {
      assertThat(opened.error()).hasMessage(DecryptionFailedException.MESSAGE);
    }
  }

  @FuzzTest
  void keyBundle(byte[] input) {
    Outcome<KeyBundle> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> KeyBundle.parse(input),
            MalformedInputException.class);
    if (parsed.ok()) {
      // a bundle has no integrity of its own (attested user_data provides it): it must round-trip
      assertThat(parsed.value().encode()).isEqualTo(input);
      assertThat(KeyBundle.isWellFormedKmsKeyId(parsed.value().kmsKeyId())).isTrue();
    }
  }
}
