package dev.keycast.protocol.crypto;

import java.math.BigInteger;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

final class OpenSslSelfTest {
  private static final HexFormat HEX = HexFormat.of();
  // RFC 7748 section 6.1: Alice's private key, Alice's public key, Bob's public key, K.
  private static final byte[] X_ALICE_PRIV =
      HEX.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  private static final byte[] X_ALICE_PUB =
      HEX.parseHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  private static final byte[] X_BOB_PUB =
      HEX.parseHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  private static final byte[] X_SHARED =
      HEX.parseHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  // A low-order point (u = 0 after reduction: the all-zero encoding's twin p = 2^255 - 19).
  private static final byte[] X_LOW_ORDER =
      HEX.parseHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  // RSA-2048 (modulus from `openssl genrsa 2048`), e = 65537: m = bytes 01..ff, c = m^e mod n
  // (computed with Python's pow).
  private static final BigInteger RSA_N =
      new BigInteger(
          "d836019ef87446705420e4a8545ea4ab2e6c7f25c4a424d0d8a9e9294e6de0718e8a9295e90c7183afaa1f31"
              + "890591bfba934df311139248595f43aa11838ac542af46fa89bfc84e006c076c1ebcc14c52bbaca35b3c"
              + "d7f6123730961c31a8179e10939a259cebd4a5630194d71802d8be89be43cd669a5bae2f49d5531284da1"
              + "22804f7b37dba8edd12ae114bf94c9df23faf66e89bb45fff055bf01b689059b18db2f138b29b38f6c7db"
              + "310ead4a8631c0b31f1605c3787f4cb23c261936d7847487c8b1941e6847e2760044ddb4a3d2bbe6fac19"
              + "6ca958a4dda4ee8d0fb23e6fcdf4da3a27d5d6be00e95ab4a1845a5fc42177187542155de7dd131cb96df",
          16);
  private static final byte[] RSA_C =
      HEX.parseHex(
          "bce7080e32a7549734338a5f6a178007a5d68bf90f78e62ec14d262841711b93c7785eeaa893ac9c246eaf07"
              + "2c17a335a9dbcd3de8d46344e5408c09984365f85ba2b679baecf577052b4f8e66f2f8a98cc415aae8773"
              + "c25f9498dbd32a265f287fd3dbc0d926d27eadd4cb59b16dc792900fe2a8055a70c3681798fcd61f63546"
              + "4a2be67f7f762af16623a80350b6df66d96b726b9436e0b2e8d5c21b3bdcb6419ad22a112ce5fed6947cd"
              + "d051e95547ca855641f94d14a9ddb81aa43ca3113da43a7d699c84afce748a87d122edca825ea13c257c2"
              + "1d2834e3ff28be519309c17fb61a73db20a55c9ad5aceede2712a12625c3dd700bd64b4dc08817862f57");

  // RSASSA-PKCS1-v1_5 with SHA-256 (openssl genrsa 2048; openssl dgst -sha256 -sign), the first
  // vector of src/test/resources/vectors/rsa-pkcs1-verify/ok-known-answers.ok.
  private static final byte[] SIG_SPKI =
      HEX.parseHex(
          "30820122300d06092a864886f70d01010105000382010f003082010a0282010100a9c738fd7f67caab26e6e7"
              + "823290647e3619e6655c9d5417b65ed9913093a144560dacd1d72805fcd8b1576a0b135d081f93a0471cb970"
              + "78eda8e8a32eb0a6e4b57067a187935a0ef5f1432542c6d02d71c4a261b37017d5af5cca073fbe99ab17f97b"
              + "c07a2d955086e9e10da9d68ad5b04c62c24d537a7b5852cc95cb764986d7b5202d1e5f27a1a25ea8f9e21b44"
              + "74f4551e31d2c13414ae939d71bbc6e14efc8609a3e375896a757f673c1fd8331775250f8eb9d544dd95b8fd"
              + "a49c6217043b342e1096e9e8a858409e5f9f1d03de91bb202718695b0b7ebe2c3286b00b11ab9df9328f3394"
              + "e9e62f3ee9a93361d5e99113c58219604eb5daa446d339e1870203010001");
  private static final byte[] SIG_MESSAGE =
      HEX.parseHex(
          "6b6579636173742072736120706b6373312076312e3520766572696669636174696f6e206b6e6f776e20616e"
              + "73776572");
  private static final byte[] SIG_VALUE =
      HEX.parseHex(
          "01b8f25a8ef528704297507f5289315f13bdb13554a1745508b3b277989a0827e25f99edd729e4b48a6a0ad2"
              + "e28b42a521052bd9d9e791ef864965b6838ee12e79846bb92d05cd5f36e2f38f624b0a9326c5c0e91f75cbfe"
              + "d4dcbb498b265b3a62b0a9bb6afb1c9f814778a4667137721a506109fb1848eb2a65ac838377eda18fb4f1ef"
              + "9c7ef0e10eed84a6fc76b558317e2c714b7914a6e5f0b9444227bb53a4ca9a145b123801163d44c62d8e6922"
              + "3ed21fb1a6f8056837c26875e0e62b79f0096cc5723116443974e2a51b2190bad054b0629e6686bb9a726966"
              + "48a5473e1329a4315240755ad221339e3e4b41c767e2ae72ffd80c7502b7cd4b710853ad");

  private OpenSslSelfTest() {}

  static void run(OpenSslCryptoBackend b) {
    byte[] m = new byte[255];
    for (int i = 0; i < m.length; i++) {
      m[i] = (byte) (i + 1);
    }
    byte[] c = b.rsaPublic(RSA_N, BigInteger.valueOf(65537), m, 0, m.length);
    if (!Arrays.equals(c, RSA_C)) {
      throw new IllegalStateException("libcrypto self-test failed: RSA public-key operation");
    }
    try {
      X25519Exchange x = b.x25519(X_ALICE_PRIV, X_BOB_PUB);
      boolean good =
          Arrays.equals(x.publicKey(), X_ALICE_PUB)
              && MessageDigest.isEqual(x.sharedSecret(), X_SHARED);
      x.destroy();
      if (!good) {
        throw new IllegalStateException("libcrypto self-test failed: X25519");
      }
    } catch (InvalidKeyException e) {
      throw new IllegalStateException("libcrypto self-test failed: X25519 rejected RFC 7748", e);
    }
    if (!b.rsaPkcs1Verify(
        RsaSignatureDigest.SHA256, SIG_SPKI, SIG_MESSAGE, 0, SIG_MESSAGE.length, SIG_VALUE)) {
      throw new IllegalStateException("libcrypto self-test failed: RSA PKCS #1 v1.5 verification");
    }
    byte[] tampered = SIG_VALUE.clone();
    tampered[tampered.length - 1] ^= 1;
    if (b.rsaPkcs1Verify(
        RsaSignatureDigest.SHA256, SIG_SPKI, SIG_MESSAGE, 0, SIG_MESSAGE.length, tampered)) {
      throw new IllegalStateException(
          "libcrypto self-test failed: RSA PKCS #1 v1.5 verification accepted a tampered signature");
    }
    X25519KeyAgreement held = b.x25519KeyAgreement(X_ALICE_PRIV, X_ALICE_PUB);
    try {
      if (!MessageDigest.isEqual(held.sharedSecret(X_BOB_PUB), X_SHARED)) {
        throw new IllegalStateException("libcrypto self-test failed: X25519 with a held key");
      }
    } catch (InvalidKeyException e) {
      held.destroy();
      throw new IllegalStateException(
          "libcrypto self-test failed: X25519 with a held key rejected RFC 7748", e);
    }
    try {
      held.sharedSecret(X_LOW_ORDER);
      throw new IllegalStateException(
          "libcrypto self-test failed: X25519 with a held key accepted a low-order point");
    } catch (InvalidKeyException expected) {
      // the all-zero shared secret is rejected
    } finally {
      held.destroy();
    }
    try {
      b.x25519(X_ALICE_PRIV, X_LOW_ORDER).destroy();
      throw new IllegalStateException(
          "libcrypto self-test failed: X25519 accepted a low-order point");
    } catch (InvalidKeyException expected) {
      // the all-zero shared secret is rejected
    }
  }
}
