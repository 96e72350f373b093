package dev.keycast.protocol.hpke;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The output of a single-shot HPKE seal: the KEM encapsulation {@code enc} and the AEAD ciphertext
 * (with its tag). Both arrays are copied in and out; the record is immutable.
 */
public record HpkeCiphertext(byte[] enc, byte[] ciphertext) {
  public HpkeCiphertext {
    if (enc == null || ciphertext == null) {
      throw new NullPointerException("enc and ciphertext are required");
    }
    enc = enc.clone();
    ciphertext = ciphertext.clone();
  }

  @Override
  public byte[] enc() {
    return enc.clone();
  }

  @Override
  public byte[] ciphertext() {
    return ciphertext.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HpkeCiphertext other
        && Arrays.equals(enc, other.enc)
        && Arrays.equals(ciphertext, other.ciphertext);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(enc) + Arrays.hashCode(ciphertext);
  }

  @Override
  public String toString() {
    return "HpkeCiphertext[enc="
        + HexFormat.of().formatHex(enc)
        + ", ciphertext="
        + ciphertext.length
        + " bytes]";
  }
}
