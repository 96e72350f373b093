package dev.keycast.protocol.hpke;

/**
 * An HPKE (RFC 9180) cipher suite: KEM, KDF and AEAD identifiers from the IANA HPKE registries.
 *
 * <p>Only DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and one of AES-128-GCM, AES-256-GCM or
 * ChaCha20Poly1305 is accepted. Keycast itself uses {@link #KEYCAST_V1}; the other AEADs exist so
 * that the RFC 9180 Appendix A test vectors can be checked.
 *
 * @param kemId KEM identifier (0x0020 = DHKEM(X25519, HKDF-SHA256))
 * @param kdfId KDF identifier (0x0001 = HKDF-SHA256)
 * @param aeadId AEAD identifier (0x0001 AES-128-GCM, 0x0002 AES-256-GCM, 0x0003 ChaCha20Poly1305)
 */
public record HpkeSuite(int kemId, int kdfId, int aeadId) {
  /** DHKEM(X25519, HKDF-SHA256). */
  public static final int KEM_X25519_HKDF_SHA256 = 0x0020;

  /** HKDF-SHA256. */
  public static final int KDF_HKDF_SHA256 = 0x0001;

  /** AES-128-GCM. */
  public static final int AEAD_AES_128_GCM = 0x0001;

  /** AES-256-GCM. */
  public static final int AEAD_AES_256_GCM = 0x0002;

  /** ChaCha20Poly1305. */
  public static final int AEAD_CHACHA20_POLY1305 = 0x0003;

  /** Keycast's v1 suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. */
  public static final HpkeSuite KEYCAST_V1 =
      new HpkeSuite(KEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_256_GCM);

  /**
   * @throws IllegalArgumentException for a suite this implementation does not support
   */
  public HpkeSuite {
    if (kemId != KEM_X25519_HKDF_SHA256) {
      throw new IllegalArgumentException("unsupported HPKE kem_id 0x" + Integer.toHexString(kemId));
    }
    if (kdfId != KDF_HKDF_SHA256) {
      throw new IllegalArgumentException("unsupported HPKE kdf_id 0x" + Integer.toHexString(kdfId));
    }
    if (aeadId != AEAD_AES_128_GCM
        && aeadId != AEAD_AES_256_GCM
        && aeadId != AEAD_CHACHA20_POLY1305) {
      throw new IllegalArgumentException(
          "unsupported HPKE aead_id 0x" + Integer.toHexString(aeadId));
    }
  }

  /** Length in bytes of the KEM encapsulation {@code enc} (32 for X25519). */
  public int encLength() {
    return 32;
  }

  /** Length in bytes of the AEAD key (Nk): 16 for AES-128-GCM, 32 otherwise. */
  public int keyLength() {
    return aeadId == AEAD_AES_128_GCM ? 16 : 32;
  }

  /** Length in bytes of the AEAD authentication tag (16 for all supported AEADs). */
  public int tagLength() {
    return 16;
  }
}
