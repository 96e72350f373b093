package dev.keycast.protocol.send;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** The send payload's sealer and opener bind suite, info and associated data as api.md 1.1 says. */
class SendPayloadSealerTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String KEY_SET = "ks-0123456789abcdef0123456789abcdef";
  private static final byte[] POLICY = "{\"version\":1}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] SECRET = "content key".getBytes(StandardCharsets.UTF_8);

  private final X25519PrivateKey receiveKey = X25519PrivateKey.generate(RANDOM);

  private SendPayloadOpener opener(String keySetId) {
    return SendPayloadOpener.create(
        SendPayloadParameters.v1(keySetId), CryptoBackends.get(), receiveKey);
  }

  private SealedSendPayload seal() throws MalformedInputException {
    return SendPayloadSealer.v1(KEY_SET, receiveKey.publicKey().toRaw())
        .seal(POLICY, SECRET, RANDOM);
  }

  @Test
  void infoIsLabelZeroKeySetId() {
    assertThat(SendPayloadParameters.info("ks-00"))
        .isEqualTo("keycast/v1/send\u0000ks-00".getBytes(StandardCharsets.US_ASCII));
    assertThat(SendPayloadParameters.v1("ks-00").info())
        .isEqualTo(SendPayloadParameters.info("ks-00"));
  }

  @Test
  void sealedPayloadOpensWithTheSpecifiedInfoAndPolicyAsAad() throws Exception {
    SealedSendPayload p = seal();
    // an independent open with the parameters spelled out as api.md 1.1 has them
    byte[] info = ("keycast/v1/send\0" + KEY_SET).getBytes(StandardCharsets.UTF_8);
    assertThat(
            Hpke.open(
                HpkeSuite.KEYCAST_V1,
                receiveKey,
                info,
                POLICY,
                new HpkeCiphertext(p.enc(), p.ciphertext())))
        .isEqualTo(SECRET);
    assertThat(opener(KEY_SET).open(POLICY, p.enc(), p.ciphertext())).isEqualTo(SECRET);
  }

  @Test
  void apiFormCarriesVersionSuiteKeySetAndBase64urlFields() throws Exception {
    SealedSendPayload p = seal();
    EnclaveApi.SendPayload api = p.toApi();
    assertThat(api.version()).isEqualTo(1);
    assertThat(api.suite()).isEqualTo(EnclaveApi.SUITE_V1);
    assertThat(api.keySetId()).isEqualTo(KEY_SET);
    assertThat(Base64Url.decode("policy", api.policy(), 1 << 16)).isEqualTo(POLICY);
    assertThat(Base64Url.decode("enc", api.enc(), 64)).isEqualTo(p.enc());
    assertThat(Base64Url.decode("ciphertext", api.ciphertext(), 1 << 17)).isEqualTo(p.ciphertext());
  }

  @Test
  void hostChangingThePolicyMakesTheOpenFail() throws Exception {
    SealedSendPayload p = seal();
    byte[] altered = "{\"version\":2}".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> opener(KEY_SET).open(altered, p.enc(), p.ciphertext()))
        .isInstanceOf(DecryptionFailedException.class)
        .hasMessage(DecryptionFailedException.MESSAGE);
  }

  @Test
  void payloadReplayedToAnotherKeySetDoesNotOpen() throws Exception {
    SealedSendPayload p = seal();
    assertThatThrownBy(() -> opener("ks-" + "f".repeat(32)).open(POLICY, p.enc(), p.ciphertext()))
        .isInstanceOf(DecryptionFailedException.class)
        .hasMessage(DecryptionFailedException.MESSAGE);
  }

  @Test
  void truncatedOrAlteredCiphertextFailsAlike() throws Exception {
    SealedSendPayload p = seal();
    byte[] ct = p.ciphertext();
    ct[0] ^= 1;
    assertThatThrownBy(() -> opener(KEY_SET).open(POLICY, p.enc(), ct))
        .isInstanceOf(DecryptionFailedException.class)
        .hasMessage(DecryptionFailedException.MESSAGE);
    assertThatThrownBy(() -> opener(KEY_SET).open(POLICY, new byte[3], p.ciphertext()))
        .isInstanceOf(DecryptionFailedException.class)
        .hasMessage(DecryptionFailedException.MESSAGE);
  }

  @Test
  void badReceiveKeyIsATypedError() {
    assertThatThrownBy(() -> SendPayloadSealer.v1(KEY_SET, new byte[31]))
        .isInstanceOfSatisfying(
            MalformedInputException.class,
            e -> assertThat(e.kind()).isEqualTo(MalformedInputException.Kind.MALFORMED));
  }

  /** A legacy DKDM key import (wire-format.md 10.6) and a send never open as each other. */
  @Test
  void aKeyImportPayloadNeverOpensAsASendNorASendAsAKeyImport() throws Exception {
    SendPayloadOpener sendOpener = opener(KEY_SET);
    SendPayloadOpener importOpener =
        SendPayloadOpener.create(
            SendPayloadParameters.keyImportV1(KEY_SET), CryptoBackends.get(), receiveKey);
    SealedSendPayload imported =
        SendPayloadSealer.create(
                SendPayloadParameters.keyImportV1(KEY_SET), receiveKey.publicKey().toRaw())
            .seal(POLICY, SECRET, RANDOM);
    assertThat(importOpener.open(POLICY, imported.enc(), imported.ciphertext())).isEqualTo(SECRET);
    assertThatThrownBy(() -> sendOpener.open(POLICY, imported.enc(), imported.ciphertext()))
        .isInstanceOf(DecryptionFailedException.class);
    SealedSendPayload sent = seal();
    assertThatThrownBy(() -> importOpener.open(POLICY, sent.enc(), sent.ciphertext()))
        .isInstanceOf(DecryptionFailedException.class);
  }
}
