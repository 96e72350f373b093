package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PEM for the distributor-CA signer path: round trip, text between blocks, and the caps. */
class DcPemTest {
  static List<byte[]> chain() throws Exception {
    List<byte[]> out = new ArrayList<>();
    for (var c :
        DcCertificateIssuer.issue(
                new DcCertificateIssuer.ChainNames("O", "OU", "ROOT", "CA", "CS", "LEAF"),
                Instant.now(),
                1,
                new SecureRandom())
            .chain()) {
      out.add(c.getEncoded());
    }
    return out;
  }

  @Test
  void certificatesRoundTripAndTextBetweenBlocksIsIgnored() throws Exception {
    List<byte[]> der = chain();
    String pem = "subject=O = O\n" + DcPem.certificates(der) + "trailing words\n";
    assertThat(DcPem.parseCertificates(pem.getBytes(StandardCharsets.US_ASCII)))
        .zipSatisfy(der, (a, b) -> assertThat(a).isEqualTo(b));
    assertThat(DcPem.encode("CERTIFICATE REQUEST", new byte[] {1, 2, 3}))
        .isEqualTo(
            "-----BEGIN CERTIFICATE REQUEST-----\nAQID\n-----END CERTIFICATE REQUEST-----\n");
  }

  @Test
  void capsAreCheckedBeforeDecoding() throws Exception {
    byte[] one = chain().get(0);
    String nine = DcPem.certificates(Collections.nCopies(9, one));
    assertThatThrownBy(() -> DcPem.parseCertificates(nine.getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("more than 8");
    String big = DcPem.encode("CERTIFICATE", new byte[4200]);
    assertThatThrownBy(() -> DcPem.parseCertificates(big.getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("longer than 4096");
    assertThatThrownBy(() -> DcPem.parseCertificates(new byte[DcPem.MAX_CHAIN_PEM_BYTES + 1]))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(
            () ->
                DcPem.parseCertificates(
                    "-----BEGIN CERTIFICATE-----\nAQID\n".getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("no END");
    assertThatThrownBy(
            () -> DcPem.parseCertificates("no pem here".getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("no -----BEGIN");
  }

  /**
   * Fuzzing finding Z6: the character cap of a block allows for line breaks, so a block written on
   * one line passed it and decoded to more than the 4,096 bytes the method promises.
   */
  @Test
  void aBlockWithoutLineBreaksCannotExceedTheByteCap() throws Exception {
    String oneLine =
        "-----BEGIN CERTIFICATE-----"
            + java.util.Base64.getEncoder().encodeToString(new byte[4227])
            + "-----END CERTIFICATE-----";
    assertThatThrownBy(() -> DcPem.parseCertificates(oneLine.getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("longer than 4096");
    String atCap =
        "-----BEGIN CERTIFICATE-----"
            + java.util.Base64.getEncoder().encodeToString(new byte[4096])
            + "-----END CERTIFICATE-----";
    assertThat(DcPem.parseCertificates(atCap.getBytes(StandardCharsets.US_ASCII)).get(0))
        .hasSize(4096);
  }

  /**
   * Fuzzing finding Z8: an END line overlapping the BEGIN line's last dashes was taken as the
   * block's end, and the block's text was cut from after the BEGIN line to before it: an untyped
   * {@code StringIndexOutOfBoundsException} out of the parser (the host's admin relay of a signer
   * chain would have answered 500).
   */
  @Test
  void anEndLineOverlappingTheBeginLineIsNoBlockEnd() {
    assertThatThrownBy(
            () ->
                DcPem.parseCertificates(
                    "-----BEGIN CERTIFICATE-----END CERTIFICATE-----"
                        .getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("no END");
  }
}
