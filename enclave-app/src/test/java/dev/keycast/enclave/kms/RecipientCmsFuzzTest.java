package dev.keycast.enclave.kms;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;

/**
 * Coverage-guided fuzz target for the reader of KMS's CiphertextForRecipient (CMS EnvelopedData,
 * BER), which reaches the enclave through the untrusted host.
 *
 * <p>Contract: {@link RecipientCms#inspect} throws only {@link MalformedInputException} with a
 * stable code; {@link RecipientCms#open} throws only that or {@link DecryptionFailedException}
 * with the one message all decryption failures share; both agree on what is malformed;
 * allocation stays linear in the input; an inspected structure is within the profile's bounds.
 */
class RecipientCmsFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 256;
  private static final RecipientKeyPair PAIR = keyPair();

  @FuzzTest
  void ciphertextForRecipient(byte[] input) {
    Outcome<RecipientCms.Structure> inspected =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> RecipientCms.inspect(input),
            MalformedInputException.class);
    Outcome<byte[]> opened =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> PAIR.open(input, 32),
            MalformedInputException.class,
            DecryptionFailedException.class);
    assertThat(opened.error() instanceof MalformedInputException)
        .as("open and inspect agree on malformed input: %s / %s", inspected.error(), opened.error())
        .isEqualTo(!inspected.ok());
    if (inspected.ok()) {
      RecipientCms.Structure s = inspected.value();
      assertThat(s.encryptedKeyLength()).isBetween(1, RecipientCms.MAX_BYTES);
      assertThat(s.contentEncryptedLength()).isLessThanOrEqualTo(RecipientCms.MAX_BYTES);
    }
    if (opened.error() instanceof DecryptionFailedException d) {
      assertThat(d).hasMessage(DecryptionFailedException.MESSAGE);
    }
  }

  private static RecipientKeyPair keyPair() {
    try {
      return RecipientKeyPair.generate(new SecureRandom());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
