package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FingerprintSetTest {
  private static String fp(int i) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Integer.toString(i).getBytes()));
  }

  @Test
  void aRepeatedRecipientIsSeenOnceAndDistinctOnesAllCount() throws Exception {
    FingerprintSet set = new FingerprintSet();
    Set<String> reference = new HashSet<>();
    for (int i = 0; i < 50_000; i++) {
      String f = fp(i % 30_000); // 20,000 repeats among them
      assertThat(set.add(f)).as("candidate %d", i).isEqualTo(reference.add(f));
    }
    assertThat(set.size()).isEqualTo(30_000);
    set.clear();
    assertThat(set.add(fp(1))).isTrue();
  }

  @Test
  void fingerprintsDifferingOnlyInTheirLastHalfAreTheSameEntryAndAllZeroIsAFingerprint() {
    String zero = "0".repeat(64);
    FingerprintSet set = new FingerprintSet();
    assertThat(set.add(zero)).isTrue();
    assertThat(set.add(zero)).isFalse();
    String a = "ab".repeat(16) + "00".repeat(16);
    assertThat(set.add(a)).isTrue();
    assertThat(set.add(a)).isFalse();
    // the first 128 bits decide (documented: a 2^64 collision, and the host picks candidates)
    assertThat(set.add("ab".repeat(16) + "11".repeat(16))).isFalse();
    assertThat(set.size()).isEqualTo(2);
    assertThatThrownBy(() -> set.add("zz".repeat(32))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> set.add("ab")).isInstanceOf(IllegalArgumentException.class);
  }
}
