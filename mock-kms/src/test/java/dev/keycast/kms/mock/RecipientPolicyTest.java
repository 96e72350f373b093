package dev.keycast.kms.mock;

import static dev.keycast.kms.mock.KmsFixture.ADMIN;
import static dev.keycast.kms.mock.KmsFixture.PARENT;
import static dev.keycast.kms.mock.KmsFixture.ROLE_ARN;
import static dev.keycast.kms.mock.KmsFixture.ROOT_ARN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KeyEncryptionMechanism;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.RecipientInfo;

/** Attestation-conditioned key policies and Recipient responses, through the AWS SDK. */
class RecipientPolicyTest {
  @TempDir Path state;
  private final SecureRandom random = new SecureRandom();
  private TestNitroPki pki;
  private MockKms kms;
  private KmsClient admin;
  private KmsClient parent;
  private KeyPair enclaveKey;
  private byte[] pcr0;

  @BeforeEach
  void start() throws Exception {
    pki = TestNitroPki.create("mock-nitro");
    kms = MockKms.start(KmsFixture.config(state, List.of(pki.root)).build());
    admin = KmsFixture.client(kms.endpoint(), ADMIN);
    parent = KmsFixture.client(kms.endpoint(), PARENT);
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    enclaveKey = g.generateKeyPair();
    pcr0 = new byte[48];
    random.nextBytes(pcr0);
  }

  @AfterEach
  void stop() {
    admin.close();
    parent.close();
    kms.close();
  }

  static RecipientInfo recipient(byte[] doc) {
    return RecipientInfo.builder()
        .attestationDocument(SdkBytes.fromByteArray(doc))
        .keyEncryptionAlgorithm(KeyEncryptionMechanism.RSAES_OAEP_SHA_256)
        .build();
  }

  static byte[] openCms(SdkBytes cms, PrivateKey key) throws Exception {
    return new CMSEnvelopedData(cms.asByteArray())
        .getRecipientInfos()
        .getRecipients()
        .iterator()
        .next()
        .getContent(new JceKeyTransEnvelopedRecipient(key));
  }

  static void assertKmsError(ThrowingCallable call, String code) {
    assertThatThrownBy(call)
        .isInstanceOf(KmsException.class)
        .satisfies(
            e -> assertThat(((KmsException) e).awsErrorDetails().errorCode()).isEqualTo(code));
  }

  private String enclaveKeyId() {
    String pcr0Hex =
        HexFormat.of().formatHex(pcr0).toUpperCase(Locale.ROOT); // IgnoreCase is exercised
    return admin
        .createKey(b -> b.policy(Policies.enclave(ROOT_ARN, ROLE_ARN, pcr0Hex)))
        .keyMetadata()
        .keyId();
  }

  @Test
  void matchingPcr0IsAllowedAndCiphertextForRecipientDecryptsToTheDataKey() throws Exception {
    String keyId = enclaveKeyId();
    byte[] doc = pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
    Map<String, String> ctx = Map.of("keycast", "sealed-keyset");

    GenerateDataKeyResponse dk =
        parent.generateDataKey(
            b ->
                b.keyId(keyId)
                    .keySpec(DataKeySpec.AES_256)
                    .encryptionContext(ctx)
                    .recipient(recipient(doc)));
    assertThat(dk.plaintext()).isNull();
    assertThat(dk.ciphertextForRecipient()).isNotNull();
    byte[] dataKey = openCms(dk.ciphertextForRecipient(), enclaveKey.getPrivate());
    assertThat(dataKey).hasSize(32);

    var dec =
        parent.decrypt(
            b ->
                b.ciphertextBlob(dk.ciphertextBlob())
                    .encryptionContext(ctx)
                    .recipient(recipient(doc)));
    assertThat(dec.plaintext()).isNull();
    assertThat(openCms(dec.ciphertextForRecipient(), enclaveKey.getPrivate())).isEqualTo(dataKey);

    // The same role without an attestation document is denied: the statement is conditioned.
    assertKmsError(
        () -> parent.decrypt(b -> b.ciphertextBlob(dk.ciphertextBlob()).encryptionContext(ctx)),
        "AccessDeniedException");
    // The context is still bound to the blob when the policy allows.
    assertKmsError(
        () -> parent.decrypt(b -> b.ciphertextBlob(dk.ciphertextBlob()).recipient(recipient(doc))),
        "InvalidCiphertextException");
  }

  @Test
  void differentPcr0IsDenied() throws Exception {
    String keyId = enclaveKeyId();
    byte[] otherPcr0 = pcr0.clone();
    otherPcr0[47] ^= 1;
    byte[] doc =
        pki.mint(TestNitroPki.pcrs(Map.of(0, otherPcr0)), enclaveKey.getPublic().getEncoded());
    assertKmsError(
        () ->
            parent.generateDataKey(
                b -> b.keyId(keyId).keySpec(DataKeySpec.AES_256).recipient(recipient(doc))),
        "AccessDeniedException");
    byte[] good = pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
    var blob =
        parent
            .generateDataKey(b -> b.keyId(keyId).numberOfBytes(32).recipient(recipient(good)))
            .ciphertextBlob();
    assertKmsError(
        () -> parent.decrypt(b -> b.ciphertextBlob(blob).recipient(recipient(doc))),
        "AccessDeniedException");
  }

  @Test
  void untrustedOrTamperedDocumentsDoNotSatisfyAttestationConditions() throws Exception {
    String keyId = enclaveKeyId();
    TestNitroPki rogue = TestNitroPki.create("rogue");
    byte[] rogueDoc =
        rogue.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
    assertKmsError(
        () ->
            parent.generateDataKey(
                b -> b.keyId(keyId).numberOfBytes(32).recipient(recipient(rogueDoc))),
        "AccessDeniedException");

    byte[] tampered =
        pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
    tampered[tampered.length - 1] ^= 1; // last byte of the ES384 signature
    assertKmsError(
        () ->
            parent.generateDataKey(
                b -> b.keyId(keyId).numberOfBytes(32).recipient(recipient(tampered))),
        "AccessDeniedException");
  }

  @Test
  void invalidDocumentOnAnUnconditionedGrantIsAValidationError() throws Exception {
    String keyId = admin.createKey(b -> {}).keyMetadata().keyId();
    TestNitroPki rogue = TestNitroPki.create("rogue");
    byte[] rogueDoc =
        rogue.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
    assertKmsError(
        () ->
            admin.generateDataKey(
                b -> b.keyId(keyId).numberOfBytes(32).recipient(recipient(rogueDoc))),
        "ValidationException");
    assertKmsError(
        () -> admin.generateRandom(b -> b.numberOfBytes(16).recipient(recipient(rogueDoc))),
        "ValidationException");
  }

  @Test
  void generateRandomWithRecipientReturnsOnlyCiphertextForRecipient() throws Exception {
    byte[] doc = pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
    var r = parent.generateRandom(b -> b.numberOfBytes(24).recipient(recipient(doc)));
    assertThat(r.plaintext()).isNull();
    assertThat(openCms(r.ciphertextForRecipient(), enclaveKey.getPrivate())).hasSize(24);
  }

  @Test
  void explicitDenyWinsAndEncryptionContextConditionsApply() {
    String policy =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
            + "{\"Sid\":\"all\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\""
            + ROOT_ARN
            + "\",\""
            + ROLE_ARN
            + "\"]},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
            + "{\"Sid\":\"block\",\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"*\"},\"Action\":[\"kms:Decrypt\",\"kms:Encrypt\"],\"Resource\":\"*\","
            + "\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:tenant\":\"blocked\"}}}]}";
    String keyId = admin.createKey(b -> b.policy(policy)).keyMetadata().keyId();
    var ok =
        parent.encrypt(
            b ->
                b.keyId(keyId)
                    .plaintext(SdkBytes.fromUtf8String("x"))
                    .encryptionContext(Map.of("tenant", "fine")));
    assertThat(
            parent
                .decrypt(
                    b ->
                        b.ciphertextBlob(ok.ciphertextBlob())
                            .encryptionContext(Map.of("tenant", "fine")))
                .plaintext()
                .asUtf8String())
        .isEqualTo("x");
    assertKmsError(
        () ->
            parent.encrypt(
                b ->
                    b.keyId(keyId)
                        .plaintext(SdkBytes.fromUtf8String("x"))
                        .encryptionContext(Map.of("tenant", "blocked"))),
        "AccessDeniedException");
    assertKmsError(
        () ->
            admin.encrypt(
                b ->
                    b.keyId(keyId)
                        .plaintext(SdkBytes.fromUtf8String("x"))
                        .encryptionContext(Map.of("tenant", "blocked"))),
        "AccessDeniedException");
  }
}
