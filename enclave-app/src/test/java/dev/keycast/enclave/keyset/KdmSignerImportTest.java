package dev.keycast.enclave.keyset;

import static dev.keycast.enclave.keyset.KmsWorld.PARENT;
import static dev.keycast.enclave.keyset.KmsWorld.REGION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.KdmRequest;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.cinema.KdmWriter;
import dev.keycast.protocol.cinema.KeyType;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.cinema.VerifiedKdm;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.SealedKeySet;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 24, a KDM signer leaf issued by the distributor's own CA: the enclave answers a CSR for
 * its sealed signer leaf key and imports a chain only when it certifies exactly that key as an ST
 * 430-2 signer (CS) valid now; the key set is then sealed again under the same data key. The host
 * chooses the chain it imports: these tests are its attempts. Real KMS calls (mock KMS, TLS).
 */
class KdmSignerImportTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final String DISTRIBUTOR = "DISTRIBUTOR.TEST";

  @TempDir static Path tmp;
  static KmsWorld world;
  static KeyPair distributorRoot;
  static KeyPair distributorCa;

  @BeforeAll
  static void start() throws Exception {
    world = new KmsWorld(tmp.resolve("world"));
    distributorRoot = DcCertificateIssuer.newRsa2048(RANDOM);
    distributorCa = DcCertificateIssuer.newRsa2048(RANDOM);
  }

  @AfterAll
  static void stop() {
    if (world != null) {
      world.close();
    }
  }

  @Test
  void theCsrIsForTheSealedLeafKeyWithSt4302Names() throws Exception {
    KmsKeySetService enclave = world.service();
    KeySetService.Initialized init = enclave.init(world.keyArn, REGION, PARENT);
    byte[] der = enclave.kdmSignerCsr(DISTRIBUTOR, "KDM.DISTRIBUTOR.TEST", null);
    JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest(der);
    assertThat(
            csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getPublicKey())))
        .isTrue();
    assertThat(csr.getPublicKey().getEncoded())
        .isEqualTo(enclave.kdmSigner().orElseThrow().leaf().getPublicKey().getEncoded());
    X500Name subject = csr.getSubject();
    assertThat(values(subject, BCStyle.O)).containsExactly(DISTRIBUTOR);
    assertThat(values(subject, BCStyle.CN)).containsExactly("CS.keycast-kdm-signer");
    assertThat(values(subject, BCStyle.DN_QUALIFIER))
        .containsExactly(DcCertificates.publicKeyDigest(csr.getPublicKey()));
    for (var rdn : subject.getRDNs()) {
      assertThat(rdn.getFirst().getValue())
          .isInstanceOf(org.bouncycastle.asn1.DERPrintableString.class);
    }
    // defaults name the key set; the same names give the same request (the sealed key, PKCS #1
    // v1.5)
    X500Name defaults =
        new JcaPKCS10CertificationRequest(enclave.kdmSignerCsr(null, null, null)).getSubject();
    assertThat(values(defaults, BCStyle.OU)).containsExactly(init.bundle().keySetId());
    assertThat(enclave.kdmSignerCsr(DISTRIBUTOR, "KDM.DISTRIBUTOR.TEST", null)).isEqualTo(der);
    KeySetException bad =
        catchThrowableOfType(
            KeySetException.class, () -> enclave.kdmSignerCsr("Fa\u00e7ade", null, null));
    assertThat(bad.code()).isEqualTo(ErrorCode.MALFORMED_REQUEST);
  }

  @Test
  void aHostImportsAChainForAnotherKeyIsRefused() throws Exception {
    KmsKeySetService enclave = world.service();
    KeySetService.Initialized init = enclave.init(world.keyArn, REGION, PARENT);
    KdmSigner before = enclave.kdmSigner().orElseThrow();
    // a flawless ST 430-2 signer chain from the distributor's CA, for a key the host holds
    KeyPair hostsKey = DcCertificateIssuer.newRsa2048(RANDOM);
    List<X509Certificate> chain =
        distributorChain(hostsKey.getPublic(), "CS", Instant.now().minus(Duration.ofDays(1)), 1);
    DcCertificateChainValidator.validate(
        DcCertificateChainValidator.Kind.SIGNER, chain, Instant.now());

    KeySetException e =
        catchThrowableOfType(
            KeySetException.class, () -> enclave.importKdmSignerChain(der(chain), PARENT));
    assertThat(e.code()).isEqualTo(ErrorCode.KDM_SIGNER_CHAIN_KEY_MISMATCH);
    assertThat(e.getMessage()).startsWith("kdm_signer_chain_key_mismatch");
    unchanged(enclave, before, init.bundle());
  }

  @Test
  void aHostImportsAChainThatIsNotASignerChainIsRefused() throws Exception {
    KmsKeySetService enclave = world.service();
    KeySetService.Initialized init = enclave.init(world.keyArn, REGION, PARENT);
    KdmSigner before = enclave.kdmSigner().orElseThrow();
    PublicKey key = csrKey(enclave);
    Instant yesterday = Instant.now().minus(Duration.ofDays(1));

    // a Security Manager (screen) leaf for the enclave's key: valid ST 430-2, wrong role
    assertRefused(
        enclave, der(distributorChain(key, "SM", yesterday, 1)), "signer_certificate_role");
    // a chain whose intermediate's signature is broken
    List<byte[]> broken = der(distributorChain(key, "CS", yesterday, 1));
    byte[] inter = broken.get(1);
    inter[inter.length - 5] ^= 0x01;
    assertRefused(enclave, broken, "signer_certificate_chain_signature");
    // a chain that expired (it covered the enclave's key, but not now)
    assertRefused(
        enclave,
        der(distributorChain(key, "CS", Instant.now().minus(Duration.ofDays(800)), 2)),
        "signer_certificate_expired");
    // the leaf alone, and a chain missing its root
    List<byte[]> whole = der(distributorChain(key, "CS", yesterday, 1));
    assertRefused(enclave, whole.subList(0, 1), "signer_certificate_chain_length");
    assertRefused(enclave, whole.subList(0, 2), "signer_certificate_chain_order");
    // not a certificate at all
    assertRefused(
        enclave,
        List.of(new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}, whole.get(1)),
        "signer_certificate_malformed");
    unchanged(enclave, before, init.bundle());
  }

  @Test
  void anImportedChainIsAttestedAndSignsKdms() throws Exception {
    KmsKeySetService enclave = world.service();
    KeySetService.Initialized init = enclave.init(world.keyArn, REGION, PARENT);
    X509Certificate oldRoot = enclave.kdmSigner().orElseThrow().root();
    List<X509Certificate> chain =
        distributorChain(csrKey(enclave), "CS", Instant.now().minus(Duration.ofDays(1)), 1);

    KeySetService.Initialized imported = enclave.importKdmSignerChain(der(chain), PARENT);

    // the bundle the enclave attests from now on carries the distributor's chain, same keys
    // otherwise
    KeyBundle attested = enclave.currentBundle().orElseThrow();
    assertThat(attested).isEqualTo(imported.bundle());
    assertThat(attested.kdmSignerChain())
        .zipSatisfy(der(chain), (a, b) -> assertThat(a).isEqualTo(b));
    assertThat(attested.userData()).isNotEqualTo(init.bundle().userData());
    assertThat(attested.receivePublicKey()).isEqualTo(init.bundle().receivePublicKey());
    assertThat(attested.kmsKeyCheck()).isEqualTo(init.bundle().kmsKeyCheck());
    // sealed again under the same data key: same KMS key, same CiphertextBlob, the new chain in the
    // header
    SealedKeySet before = SealedKeySet.parse(init.sealedKeySet());
    SealedKeySet after = SealedKeySet.parse(imported.sealedKeySet());
    assertThat(after.keySetId()).isEqualTo(before.keySetId());
    assertThat(after.kmsKeyId()).isEqualTo(before.kmsKeyId());
    assertThat(after.encryptedDataKey()).isEqualTo(before.encryptedDataKey());
    assertThat(after.signerChain()).zipSatisfy(der(chain), (a, b) -> assertThat(a).isEqualTo(b));

    // a KDM issued afterwards verifies against the distributor's root, and not against the old root
    TestScreens.Manufacturer maker =
        TestScreens.manufacturer(
            "MAKER.TEST",
            Instant.now().minus(Duration.ofDays(30)),
            Instant.now().plus(Duration.ofDays(365)),
            true,
            RANDOM);
    TestScreens.Screen screen =
        TestScreens.screen(
            maker,
            TestScreens.Spec.valid(
                Instant.now().minus(Duration.ofDays(30)), Instant.now().plus(Duration.ofDays(365))),
            RANDOM);
    byte[] kdm = kdm(enclave.kdmSigner().orElseThrow(), screen);
    X509Certificate distributorRootCert = chain.get(chain.size() - 1);
    VerifiedKdm v = KdmReader.read(kdm, distributorRootCert, screen.privateKey());
    assertThat(v.signerChain()).isEqualTo(chain);
    assertThat(v.blocks()).hasSize(1);
    assertThatThrownBy(() -> KdmReader.read(kdm, oldRoot, screen.privateKey()))
        .isInstanceOf(CinemaException.class);
  }

  @Test
  void theImportedChainSurvivesRestart() throws Exception {
    KmsKeySetService enclave = world.service();
    KeySetService.Initialized init = enclave.init(world.keyArn, REGION, PARENT);
    List<X509Certificate> chain =
        distributorChain(csrKey(enclave), "CS", Instant.now().minus(Duration.ofDays(1)), 1);
    KeySetService.Initialized imported = enclave.importKdmSignerChain(der(chain), PARENT);

    KmsKeySetService restarted = world.service();
    KeySetService.Unsealed u = restarted.unsealAndMigrate(imported.sealedKeySet(), REGION, PARENT);
    assertThat(u.migratedSealedKeySet()).isEmpty();
    assertThat(u.bundle()).isEqualTo(imported.bundle());
    KdmSigner signer = restarted.kdmSigner().orElseThrow();
    assertThat(signer.chain()).isEqualTo(chain);
    assertThat(restarted.current().orElseThrow().storageKey())
        .isEqualTo(enclave.current().orElseThrow().storageKey());
    // and the CSR after a restart is still for the same key (a second import for it works)
    assertThat(
            new JcaPKCS10CertificationRequest(restarted.kdmSignerCsr(DISTRIBUTOR, null, null))
                .getPublicKey()
                .getEncoded())
        .isEqualTo(chain.get(0).getPublicKey().getEncoded());
    assertThat(init.bundle().keySetId()).isEqualTo(u.bundle().keySetId());
  }

  private static void assertRefused(KmsKeySetService enclave, List<byte[]> chain, String check) {
    KeySetException e =
        catchThrowableOfType(
            KeySetException.class, () -> enclave.importKdmSignerChain(chain, PARENT));
    assertThat(e).as("import refused (%s)", check).isNotNull();
    assertThat(e.code()).isEqualTo(ErrorCode.KDM_SIGNER_CHAIN_INVALID);
    assertThat(e.getMessage()).startsWith(check + ":");
  }

  private static void unchanged(KmsKeySetService enclave, KdmSigner before, KeyBundle bundle) {
    assertThat(enclave.kdmSigner().orElseThrow().chain()).isEqualTo(before.chain());
    assertThat(enclave.currentBundle().orElseThrow()).isEqualTo(bundle);
  }

  /** The public key of the enclave's CSR, its signature checked: what a distributor's CA certifies. */
  static PublicKey csrKey(KmsKeySetService enclave) throws Exception {
    JcaPKCS10CertificationRequest csr =
        new JcaPKCS10CertificationRequest(
            enclave.kdmSignerCsr(DISTRIBUTOR, "KDM.DISTRIBUTOR.TEST", null));
    assertThat(
            csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getPublicKey())))
        .isTrue();
    return csr.getPublicKey();
  }

  /** The distributor's CA (its own root and intermediate) certifies {@code leafKey} with role {@code roles}. */
  static List<X509Certificate> distributorChain(
      PublicKey leafKey, String roles, Instant notBefore, int years) throws CinemaException {
    return DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                DISTRIBUTOR,
                "KDM.DISTRIBUTOR.TEST",
                "ROOT.DISTRIBUTOR.TEST",
                "CA.DISTRIBUTOR.TEST",
                roles,
                "keycast-kdm-signer"),
            distributorRoot,
            distributorCa,
            new KeyPair(leafKey, null),
            notBefore,
            years,
            RANDOM)
        .chain();
  }

  static List<String> values(X500Name name, org.bouncycastle.asn1.ASN1ObjectIdentifier type) {
    List<String> out = new ArrayList<>();
    for (var rdn : name.getRDNs(type)) {
      out.add(((org.bouncycastle.asn1.ASN1String) rdn.getFirst().getValue()).getString());
    }
    return out;
  }

  static List<byte[]> der(List<X509Certificate> chain) throws Exception {
    List<byte[]> out = new ArrayList<>();
    for (X509Certificate c : chain) {
      out.add(c.getEncoded());
    }
    return out;
  }

  static byte[] kdm(KdmSigner signer, TestScreens.Screen screen) throws Exception {
    byte[] key = new byte[ContentKey.KEY_LENGTH];
    RANDOM.nextBytes(key);
    ContentKeySet keys =
        ContentKeySet.of(
            UUID.randomUUID(),
            "Imported signer test",
            List.of(ContentKey.of(UUID.randomUUID(), KeyType.MDIK, key)));
    OffsetDateTime from = OffsetDateTime.now(ZoneOffset.UTC).plusHours(1).withNano(0);
    KdmRequest request =
        KdmRequest.modifiedTransitional1(
            keys,
            DcCertificateChainValidator.validateScreen(screen.chain(), Instant.now()),
            from,
            from.plusDays(2),
            UUID.randomUUID(),
            OffsetDateTime.now(ZoneOffset.UTC).withNano(0));
    return KdmWriter.write(signer, request, RANDOM);
  }
}
