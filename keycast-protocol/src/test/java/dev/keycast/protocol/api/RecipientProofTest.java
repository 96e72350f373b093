package dev.keycast.protocol.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Proof of possession: the signature input's bytes, PSS checked by openssl, the X25519 opening. */
class RecipientProofTest {
  static final String FP = "0123456789abcdef".repeat(4);

  @TempDir Path dir;

  @Test
  void signatureInputMatchesTheGoldenVectorOfApiMd() {
    assertThat(HexFormat.of().formatHex(RecipientProof.signatureInput("AQEAAAAAZ2Vu", FP)))
        .isEqualTo(
            "6b6579636173742f76312f726563697069656e742d70726f6f66"
                + "00"
                + "0000000c"
                + "41514541414141415a325675"
                + "00000040"
                + HexFormat.of().formatHex(FP.getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void rsaProofIsPssSha256ThatOpensslVerifiesAndThatBindsTokenAndFingerprint() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair kp = g.generateKeyPair();
    String fp = Fingerprints.of(kp.getPublic());
    String proof = RecipientProof.signRsa(kp.getPrivate(), "tok", fp);
    byte[] sig = Base64Url.decode("proof", proof, 512);
    assertThat(RecipientProof.verifyRsa(kp.getPublic(), "tok", fp, sig)).isTrue();
    assertThat(RecipientProof.verifyRsa(kp.getPublic(), "tok2", fp, sig)).isFalse();
    assertThat(RecipientProof.verifyRsa(kp.getPublic(), "tok", FP, sig)).isFalse();
    assertThat(RecipientProof.verifyRsa(kp.getPublic(), "tok", fp, new byte[3])).isFalse();

    boolean openssl;
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      openssl = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (java.io.IOException e) {
      openssl = false;
    }
    assumeTrue(openssl, "the openssl binary is not on PATH; the independent check needs it");
    Path pub =
        Files.writeString(
            dir.resolve("pub.pem"),
            "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'})
                    .encodeToString(kp.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n");
    Path in = Files.write(dir.resolve("input.bin"), RecipientProof.signatureInput("tok", fp));
    Path sigFile = Files.write(dir.resolve("sig.bin"), sig);
    Process p =
        new ProcessBuilder(
                List.of(
                    "openssl",
                    "dgst",
                    "-sha256",
                    "-verify",
                    pub.toString(),
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    "rsa_pss_saltlen:32",
                    "-sigopt",
                    "rsa_mgf1_md:sha256",
                    "-signature",
                    sigFile.toString(),
                    in.toString()))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(out).contains("Verified OK");
  }

  @Test
  void x25519ProofOpensOnlyWithTheChallengedKey() throws Exception {
    SecureRandom r = new SecureRandom();
    X25519PrivateKey owner = X25519PrivateKey.generate(r);
    X25519PrivateKey other = X25519PrivateKey.generate(r);
    byte[] value = new byte[32];
    r.nextBytes(value);
    String token = "token-1";
    HpkeCiphertext c =
        Hpke.seal(
            HpkeSuite.KEYCAST_V1,
            owner.publicKey(),
            RecipientProof.SEALED_RESPONSE_INFO,
            token.getBytes(StandardCharsets.US_ASCII),
            value,
            r);
    RecipientProof.Challenge ch =
        new RecipientProof.Challenge(
            token,
            owner.publicKey().fingerprint(),
            Instant.now(),
            Base64Url.encode(c.enc()),
            Base64Url.encode(c.ciphertext()));
    assertThat(RecipientProof.openX25519(owner, ch)).isEqualTo(Base64Url.encode(value));
    assertThatThrownBy(() -> RecipientProof.openX25519(other, ch))
        .isInstanceOf(DecryptionFailedException.class);
    // the token is the AAD: a sealed value moved to another token does not open
    RecipientProof.Challenge moved =
        new RecipientProof.Challenge(
            "token-2", ch.fingerprint(), ch.expiresAt(), ch.enc(), ch.sealedResponse());
    assertThatThrownBy(() -> RecipientProof.openX25519(owner, moved))
        .isInstanceOf(DecryptionFailedException.class);
  }
}
