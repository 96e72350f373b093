package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.RSAPrivateCrtKeySpec;
import org.junit.jupiter.api.Test;

/** The readers of a legacy DKDM key import (wire-format.md 10.6). */
class LegacyDkdmKeysTest {
  /**
   * Fuzzing finding Z9: a PKCS #8 key with the certificate's modulus and exponent but a wrong CRT
   * coefficient was accepted; the JDK refuses every operation with it, so the enclave would have
   * sealed a key that fails every ingest.
   */
  @Test
  void aKeyWhosePrivateParametersDoNotBelongToItsModulusIsRefused() throws Exception {
    X509Certificate cert = KdmFixtures.screenChain().get(0);
    RSAPrivateCrtKey k = (RSAPrivateCrtKey) KdmFixtures.screenKey();
    KeyFactory f = KeyFactory.getInstance("RSA");
    byte[] good = f.generatePrivate(spec(k, k.getCrtCoefficient())).getEncoded();
    assertThat(LegacyDkdmKeys.privateKey(good, cert)).isNotNull();
    byte[] bad = f.generatePrivate(spec(k, k.getCrtCoefficient().add(BigInteger.ONE))).getEncoded();
    assertThatThrownBy(() -> LegacyDkdmKeys.privateKey(bad, cert))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("dkdm_key_invalid"));
  }

  private static RSAPrivateCrtKeySpec spec(RSAPrivateCrtKey k, BigInteger crtCoefficient) {
    return new RSAPrivateCrtKeySpec(
        k.getModulus(),
        k.getPublicExponent(),
        k.getPrivateExponent(),
        k.getPrimeP(),
        k.getPrimeQ(),
        k.getPrimeExponentP(),
        k.getPrimeExponentQ(),
        crtCoefficient);
  }
}
