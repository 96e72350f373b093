package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.ForensicMarkFlags;
import dev.keycast.protocol.cinema.KdmChecks;
import dev.keycast.protocol.cinema.KdmDeliveries;
import dev.keycast.protocol.cinema.KdmFormulation;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.cinema.KdmTimestamps;
import dev.keycast.protocol.cinema.KeyType;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.cinema.VerifiedKdm;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.math.BigInteger;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * KDM sends (wire-format.md section 9) through the enclave's HTTP API: every KDM the enclave issues
 * is checked by xmllint against the SMPTE schemas, by xmlsec1 against the signer root, and by
 * decrypting every block with the screen's private key to the 138-byte ST 430-1 layout; every
 * refusal of a screen or of the send is its own test, named after it. Chains are made once per
 * class (RSA key generation is slow).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class KdmSendTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final Instant NOW = TestKit.NOW;

  /** The default key window: it holds the send's instant (the policy window must). */
  static final Instant NB = NOW.minus(Duration.ofHours(1));

  static final Instant NA = NOW.plus(Duration.ofDays(14));
  static final String DEVICE_A = Base64.getEncoder().encodeToString(new byte[20]);
  static final String DEVICE_B = "2jmj7l5rSw0yVb/vlWAYkK/YBwk=";

  /** A CPL signer's certificate thumbprint (any 20 bytes, base64). */
  static final String AUTHENTICATOR =
      Base64.getEncoder()
          .encodeToString(
              java.util.Arrays.copyOf(
                  Sha256.digest("cpl signer".getBytes(StandardCharsets.UTF_8)), 20));

  Path tmp;
  FakeKeySetService keys;
  MockAttester attester;
  EnclaveServer server;
  EnclaveServer serverWithoutSigner;
  TestKit.Http http;
  KeyBundle bundle;
  KdmSigner signer;
  DcCertificateIssuer.IssuedChain signerChain;

  TestScreens.Manufacturer makerA;
  TestScreens.Manufacturer makerB;
  TestScreens.Screen screen1;
  TestScreens.Screen screen2;
  TestScreens.Screen lateScreen;
  TestScreens.Screen otherMakersScreen;
  final AtomicInteger films = new AtomicInteger();

  @BeforeAll
  void start() throws Exception {
    KdmChecks.requireTools();
    tmp = Files.createTempDirectory("kdm-send-test");
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    attester = MockAttester.create(tmp.resolve("mock-state"));
    signerChain =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "KEYCAST.TEST",
                "KDM.KEYCAST.TEST",
                "ROOT.KEYCAST.TEST",
                "CA.KEYCAST.TEST",
                "CS",
                "KDM-SIGNER.KEYCAST.TEST"),
            NOW.minus(Duration.ofDays(1)),
            1,
            RANDOM);
    signer = KdmSigner.of(signerChain.leaf().getPrivate(), signerChain.chain(), NOW);
    server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics(),
            () -> signer);
    TestKit.establishSenders(server, keys.keySet.id());
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());

    Instant makerFrom = NOW.minus(Duration.ofDays(30));
    Instant makerTo = NOW.plus(Duration.ofDays(365));
    makerA = TestScreens.manufacturer("MAKER-A.TEST", makerFrom, makerTo, true, RANDOM);
    makerB = TestScreens.manufacturer("MAKER-B.TEST", makerFrom, makerTo, true, RANDOM);
    screen1 = TestScreens.screen(makerA, valid(), RANDOM);
    screen2 =
        TestScreens.screen(
            makerA,
            valid().withCommonName("LE SPB MD FM SM.IMB-000002.DC.TESTMAKER.SMPTE"),
            RANDOM);
    lateScreen =
        TestScreens.screen(
            makerA,
            valid().withCommonName("LE SPB MD FM SM.IMB-000003.DC.TESTMAKER.SMPTE"),
            RANDOM);
    otherMakersScreen = TestScreens.screen(makerB, valid(), RANDOM);
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
    if (serverWithoutSigner != null) {
      serverWithoutSigner.close();
    }
  }

  static TestScreens.Spec valid() {
    return TestScreens.Spec.valid(NOW.minus(Duration.ofDays(30)), NOW.plus(Duration.ofDays(300)));
  }

  // ---- the KDMs

  /** Every formulation: two screens each get one KDM that the independent checkers accept. */
  @ParameterizedTest
  @EnumSource(KdmFormulation.class)
  void everyFormulationIssuesKdmsThatValidateVerifyAndDecrypt(KdmFormulation f, @TempDir Path dir)
      throws Exception {
    ContentKeySet set = contentKeys(3);
    SendPolicy.KdmRules rules =
        new SendPolicy.KdmRules(
            f.wireName(),
            List.of(
                ForensicMarkFlags.PICTURE_DISABLE, ForensicMarkFlags.audioDisableAboveChannel(8)),
            f.needsContentAuthenticator() ? AUTHENTICATOR : null,
            "Keycast KDM " + f.wireName());
    SendPolicy policy = policy(anchorA(), rules, NB, NA, false);
    List<String> devices = List.of(DEVICE_A, DEVICE_B);
    EnclaveApi.SendResponse s =
        send(
            policy,
            set,
            List.of(screen(screen1, "+01:00", devices), screen(screen2, null, devices)));

    assertThat(s.skipped()).isEmpty();
    assertThat(s.deliveries()).hasSize(2);
    Receipt receipt = ReceiptVerifier.verify(Base64Url.decode("r", s.receipt(), 1 << 24), bundle);
    Set<UUID> messageIds = new HashSet<>();
    for (int i = 0; i < 2; i++) {
      TestScreens.Screen screen = i == 0 ? screen1 : screen2;
      ZoneOffset offset = i == 0 ? ZoneOffset.ofHours(1) : ZoneOffset.UTC;
      byte[] kdm =
          checkDelivery(dir.resolve("screen" + i), s.deliveries().get(i), screen, set, offset);
      assertThat(receipt.deliveries().get(i).envelopeSha256())
          .as("the receipt covers the KDM file")
          .isEqualTo(Sha256.digest(kdm));
      assertThat(receipt.deliveries().get(i).formatId()).isEqualTo(KdmDeliveries.FORMAT_ID);
      VerifiedKdm v = KdmReader.read(kdm, signerChain.rootCertificate(), screen.privateKey());
      assertThat(v.formulation()).isEqualTo(f);
      assertThat(v.deviceList())
          .isEqualTo(
              f.needsTrustedDevices() ? devices : List.of(DcCertificates.ASSUME_TRUST_THUMBPRINT));
      assertThat(v.contentAuthenticator())
          .isEqualTo(f.needsContentAuthenticator() ? AUTHENTICATOR : null);
      assertThat(v.forensicMarkFlags())
          .containsExactly(
              ForensicMarkFlags.PICTURE_DISABLE, ForensicMarkFlags.audioDisableAboveChannel(8));
      assertThat(v.annotationText()).isEqualTo("Keycast KDM " + f.wireName());
      assertThat(v.cplId()).isEqualTo(set.cplId());
      assertThat(v.contentTitle()).isEqualTo(set.contentTitle());
      assertThat(v.recipientSerialNumber()).isEqualTo(screen.leaf().getSerialNumber());
      assertThat(v.signerChain()).isEqualTo(signerChain.chain());
      assertThat(v.issueDate().getOffset()).isEqualTo(offset);
      messageIds.add(v.messageId());
    }
    assertThat(messageIds).as("every KDM has its own MessageId").hasSize(2);
  }

  /** The cinema's offset is written in every timestamp, the 138-byte blocks included; never Z. */
  @Test
  void timestampsAreWrittenInTheCinemasOffsetNeverZ(@TempDir Path dir) throws Exception {
    ContentKeySet set = contentKeys(1);
    EnclaveApi.SendResponse s =
        send(
            policy(anchorA(), mt1(), NB, NA, false),
            set,
            List.of(screen(screen1, "-05:30", List.of())));
    byte[] kdm =
        checkDelivery(
            dir, s.deliveries().getFirst(), screen1, set, ZoneOffset.ofHoursMinutes(-5, -30));
    String text = new String(kdm, StandardCharsets.UTF_8);
    assertThat(text)
        .contains("-05:30</IssueDate>")
        .contains("-05:30</ContentKeysNotValidBefore>")
        .doesNotContain("Z</")
        .doesNotContain("+00:00<");
  }

  /** A screen selected by its leaf's thumbprint gets its KDM; a screen not listed is skipped. */
  @Test
  void aScreenOutsideThePolicyThumbprintsIsSkipped(@TempDir Path dir) throws Exception {
    ContentKeySet set = contentKeys(2);
    SendPolicy policy =
        policy(
            new SendPolicy.RecipientSelector(
                null, null, null, List.of(DcCertificates.thumbprintBase64(screen2.leaf()))),
            mt1(),
            NB,
            NA,
            false);
    EnclaveApi.SendResponse s =
        send(
            policy,
            set,
            List.of(screen(screen1, null, List.of()), screen(screen2, null, List.of())));
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(screen2.leaf().getPublicKey()));
    checkDelivery(dir, s.deliveries().getFirst(), screen2, set, ZoneOffset.UTC);
    assertSkipped(s, screen1, Eligibility.NOT_SELECTED);
  }

  /** A screen whose chain leads to a manufacturer root the policy does not name is skipped. */
  @Test
  void aScreenOutsideThePolicyAnchorsIsSkipped() throws Exception {
    EnclaveApi.SendResponse s =
        send(
            policy(anchorA(), mt1(), NB, NA, false),
            contentKeys(1),
            List.of(screen(screen1, null, List.of()), screen(otherMakersScreen, null, List.of())));
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(screen1.leaf().getPublicKey()));
    assertSkipped(s, otherMakersScreen, Eligibility.CHAIN_INVALID);
  }

  /** A subject selector applies to screens as to any recipient. */
  @Test
  void aScreenOutsideThePolicySubjectIsSkipped() throws Exception {
    SendPolicy.RecipientSelector sel =
        new SendPolicy.RecipientSelector(
            null,
            List.of(b64(makerA.root())),
            Map.of("CN", "LE SPB MD FM SM.IMB-000002.DC.TESTMAKER.SMPTE"));
    EnclaveApi.SendResponse s =
        send(
            policy(sel, mt1(), NB, NA, false),
            contentKeys(1),
            List.of(screen(screen1, null, List.of()), screen(screen2, null, List.of())));
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(screen2.leaf().getPublicKey()));
    assertSkipped(s, screen1, Eligibility.SUBJECT_MISMATCH);
  }

  // ---- screens refused by the ST 430-2 checks (each a skip named after the check)

  @Test
  void aScreenLeafWithoutTheSecurityManagerRoleIsSkipped() throws Exception {
    refusedScreen(
        TestScreens.screen(
            makerA, valid().withCommonName("LE SPB MD FM.IMB-000009.DC.TESTMAKER.SMPTE"), RANDOM),
        "screen_certificate_role");
  }

  @Test
  void anRsa1024ScreenKeyIsSkipped() throws Exception {
    refusedScreen(
        TestScreens.screen(makerA, valid().withKey(1024, RSAKeyGenParameterSpec.F4), RANDOM),
        "screen_certificate_rsa_size");
  }

  @Test
  void aScreenKeyWithAnExponentOtherThan65537IsSkipped() throws Exception {
    refusedScreen(
        TestScreens.screen(makerA, valid().withKey(2048, BigInteger.valueOf(3)), RANDOM),
        "screen_certificate_rsa_exponent");
  }

  @Test
  void aScreenWithUtf8StringNamesIsSkipped() throws Exception {
    refusedScreen(
        TestScreens.screen(makerA, valid().withUtf8Names(), RANDOM),
        "screen_certificate_string_encoding");
  }

  @Test
  void aScreenWithAWrongDnQualifierIsSkipped() throws Exception {
    refusedScreen(
        TestScreens.screen(makerA, valid().withWrongDnQualifier(), RANDOM),
        "screen_certificate_dn_qualifier");
  }

  @Test
  void anExpiredScreenCertificateIsSkipped() throws Exception {
    refusedScreen(
        TestScreens.screen(
            makerA,
            valid().withValidity(NOW.minus(Duration.ofDays(60)), NOW.minus(Duration.ofDays(1))),
            RANDOM),
        "screen_certificate_expired");
  }

  /** A screen whose leaf expires inside the key window: its KDM would outlive its certificate. */
  @Test
  void aKeyWindowOutsideTheScreenCertificateIsSkipped() throws Exception {
    refusedScreen(
        TestScreens.screen(
            makerA,
            valid().withValidity(NOW.minus(Duration.ofDays(30)), NOW.plus(Duration.ofDays(7))),
            RANDOM),
        KdmDeliveryFamily.SCREEN_CERTIFICATE_WINDOW);
  }

  /** A bare key (RSA or X25519) has no chain: no screen, no KDM. */
  @Test
  void aCandidateWithoutAChainIsNotAScreen() throws Exception {
    var x = TestKit.x25519();
    EnclaveApi.SendResponse s =
        send(
            policy(
                new SendPolicy.RecipientSelector(
                    List.of(TestKit.fp(screen1.leaf().getPublicKey()), x.publicKey().fingerprint()),
                    List.of(),
                    Map.of()),
                mt1(),
                NB,
                NA,
                false),
            contentKeys(1),
            List.of(TestKit.candidate(screen1.leaf().getPublicKey()), TestKit.candidate(x)));
    assertThat(s.deliveries()).isEmpty();
    assertThat(s.skipped())
        .extracting(EnclaveApi.Skipped::reason)
        .containsExactly(KdmDeliveryFamily.NOT_A_SCREEN, KdmDeliveryFamily.NOT_A_SCREEN);
  }

  /** A formulation that names devices has nothing to name for a screen without trusted devices. */
  @Test
  void aScreenWithoutTrustedDevicesIsSkippedByAFormulationThatNamesDevices() throws Exception {
    SendPolicy.KdmRules rules =
        new SendPolicy.KdmRules("multiple-modified-transitional-1", null, null, null);
    EnclaveApi.SendResponse s =
        send(
            policy(anchorA(), rules, NB, NA, false),
            contentKeys(1),
            List.of(screen(screen1, null, List.of()), screen(screen2, null, List.of(DEVICE_A))));
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(screen2.leaf().getPublicKey()));
    assertSkipped(s, screen1, "kdm_trusted_devices");
  }

  /** The cinema's offset is checked: a malformed one fails the request as a malformed key does. */
  @Test
  void aMalformedUtcOffsetIsAnInvalidRecipient() throws Exception {
    for (String bad : List.of("Z", "+1:00", "+01:60", "+19:00", "01:00", "+01:00:00")) {
      HttpResponse<String> r =
          post(
              policy(anchorA(), mt1(), NB, NA, false),
              contentKeys(1),
              List.of(screen(screen1, bad, List.of())));
      assertError(r, ErrorCode.INVALID_RECIPIENT);
      assertThat(json(r, ErrorBody.class).message()).startsWith("candidates[0]: utc_offset");
    }
  }

  // ---- sends refused as a whole

  /** The secret of a KDM send must be a content-key set: anything else is refused, nothing delivered. */
  @Test
  void aSecretThatIsNotAContentKeySetIsRefused() throws Exception {
    byte[] encoded = ContentKeySetCodec.encode(contentKeys(1));
    byte[] truncated = java.util.Arrays.copyOf(encoded, encoded.length - 1);
    byte[] v2 = encoded.clone();
    v2[4] = 2;
    for (byte[] secret :
        List.of("not a content-key set".getBytes(StandardCharsets.UTF_8), truncated, v2)) {
      HttpResponse<String> r =
          postSecret(
              policy(anchorA(), mt1(), NB, NA, false),
              secret,
              List.of(screen(screen1, null, List.of())));
      assertError(r, ErrorCode.INVALID_CONTENT_KEYS);
      assertThat(r.body()).doesNotContain("deliveries").doesNotContain("sealed_secret");
    }
  }

  /** A key window outside the signer chain's validity refuses the whole send. */
  @Test
  void aKeyWindowOutsideTheSignerChainIsRefused() throws Exception {
    // the signer chain is valid from NOW - 1 day; this window starts a day earlier
    HttpResponse<String> r =
        post(
            policy(anchorA(), mt1(), NOW.minus(Duration.ofDays(2)), NA, false),
            contentKeys(1),
            List.of(screen(screen1, null, List.of())));
    assertError(r, ErrorCode.KDM_SIGNER_WINDOW);
  }

  /** Without a KDM signer (the production wiring until the key set has one) a KDM send is refused. */
  @Test
  void aKdmSendWithoutASignerIsRefused() throws Exception {
    serverWithoutSigner =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics());
    TestKit.establishSenders(serverWithoutSigner, keys.keySet.id());
    TestKit.Http other =
        new TestKit.Http(
            "http://127.0.0.1:" + ((TcpEndpoint) serverWithoutSigner.endpoint()).port());
    SendPolicy policy = policy(anchorA(), mt1(), NB, NA, false);
    HttpResponse<String> r =
        other.post(
            "/v1/send",
            new EnclaveApi.SendRequest(
                TestKit.payload(bundle, policy.toJson(), ContentKeySetCodec.encode(contentKeys(1))),
                List.of(screen(screen1, null, List.of()))));
    assertError(r, ErrorCode.KDM_SIGNER_UNAVAILABLE);
  }

  // ---- late screens

  /** A screen registered after the send gets its KDM by a forward, from the sealed content keys. */
  @Test
  void aLateScreenGetsItsKdmByAForward(@TempDir Path dir) throws Exception {
    ContentKeySet set = contentKeys(2);
    SendPolicy policy = policy(anchorA(), mt1(), NB, NA, true);
    EnclaveApi.SendResponse s = send(policy, set, List.of(screen(screen1, null, List.of())));
    EnclaveApi.ForwardRequest fwd =
        new EnclaveApi.ForwardRequest(
            s.sendId(),
            Base64Url.encode(policy.toJson()),
            s.sealedSecret(),
            List.of(
                screen(lateScreen, "+09:00", List.of()),
                screen(otherMakersScreen, null, List.of())));
    HttpResponse<String> r = http.post("/v1/forward", fwd);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.ForwardResponse f = json(r, EnclaveApi.ForwardResponse.class);
    assertThat(f.deliveries()).hasSize(1);
    byte[] kdm =
        checkDelivery(dir, f.deliveries().getFirst(), lateScreen, set, ZoneOffset.ofHours(9));
    Receipt receipt = ReceiptVerifier.verify(Base64Url.decode("r", f.receipt(), 1 << 24), bundle);
    assertThat(receipt.kind()).isEqualTo(Receipt.Kind.FORWARD);
    assertThat(receipt.deliveries().getFirst().envelopeSha256()).isEqualTo(Sha256.digest(kdm));
    assertThat(f.skipped())
        .extracting(EnclaveApi.Skipped::reason)
        .containsExactly(Eligibility.CHAIN_INVALID);
    assertThat(f.receiptId())
        .isEqualTo(
            SendService.forwardReceiptId(
                s.sendId(), List.of(TestKit.fp(lateScreen.leaf().getPublicKey()))));
  }

  /** A policy without late recipients forwards to no screen. */
  @Test
  void aLateScreenIsSkippedWhenThePolicyAdmitsNone() throws Exception {
    SendPolicy policy = policy(anchorA(), mt1(), NB, NA, false);
    EnclaveApi.SendResponse s =
        send(policy, contentKeys(1), List.of(screen(screen1, null, List.of())));
    EnclaveApi.ForwardResponse f =
        json(
            http.post(
                "/v1/forward",
                new EnclaveApi.ForwardRequest(
                    s.sendId(),
                    Base64Url.encode(policy.toJson()),
                    s.sealedSecret(),
                    List.of(screen(lateScreen, null, List.of())))),
            EnclaveApi.ForwardResponse.class);
    assertThat(f.deliveries()).isEmpty();
    assertThat(f.skipped())
        .extracting(EnclaveApi.Skipped::reason)
        .containsExactly(Eligibility.LATE_NOT_ALLOWED);
  }

  // ---- helpers

  void refusedScreen(TestScreens.Screen bad, String reason) throws Exception {
    EnclaveApi.SendResponse s =
        send(
            policy(anchorA(), mt1(), NB, NA, false),
            contentKeys(1),
            List.of(screen(screen1, null, List.of()), screen(bad, null, List.of())));
    assertThat(s.deliveries())
        .as("only the valid screen gets a KDM")
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(screen1.leaf().getPublicKey()));
    assertSkipped(s, bad, reason);
    Receipt receipt = ReceiptVerifier.verify(Base64Url.decode("r", s.receipt(), 1 << 24), bundle);
    assertThat(receipt.skipped()).extracting(Receipt.Skipped::reasonCode).containsExactly(reason);
  }

  static void assertSkipped(EnclaveApi.SendResponse s, TestScreens.Screen screen, String reason) {
    assertThat(s.skipped()).as(s.skipped().toString()).hasSize(1);
    assertThat(s.skipped().getFirst().recipient())
        .isEqualTo(TestKit.fp(screen.leaf().getPublicKey()));
    assertThat(s.skipped().getFirst().reason()).isEqualTo(reason);
  }

  /** Checks one KDM delivery with the independent tools; returns the KDM file. */
  byte[] checkDelivery(
      Path dir,
      EnclaveApi.Delivery d,
      TestScreens.Screen screen,
      ContentKeySet set,
      ZoneOffset offset)
      throws Exception {
    assertThat(d.format()).isEqualTo(KdmDeliveries.FORMAT_ID);
    assertThat(d.recipient()).isEqualTo(TestKit.fp(screen.leaf().getPublicKey()));
    byte[] kdm = Base64Url.decode("envelope", d.envelope(), 1 << 22);
    KdmChecks.check(
        dir,
        kdm,
        signerChain.rootCertificate(),
        signerChain.leafCertificate(),
        screen.privateKey(),
        TestScreens.pem(List.of(), screen.privateKey()),
        set,
        KdmTimestamps.format(OffsetDateTime.ofInstant(NB, offset)),
        KdmTimestamps.format(OffsetDateTime.ofInstant(NA, offset)));
    return kdm;
  }

  EnclaveApi.SendResponse send(
      SendPolicy policy, ContentKeySet set, List<EnclaveApi.Candidate> candidates)
      throws Exception {
    HttpResponse<String> r = post(policy, set, candidates);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return json(r, EnclaveApi.SendResponse.class);
  }

  HttpResponse<String> post(
      SendPolicy policy, ContentKeySet set, List<EnclaveApi.Candidate> candidates)
      throws Exception {
    return postSecret(policy, ContentKeySetCodec.encode(set), candidates);
  }

  HttpResponse<String> postSecret(
      SendPolicy policy, byte[] secret, List<EnclaveApi.Candidate> candidates) throws Exception {
    return http.post(
        "/v1/send",
        new EnclaveApi.SendRequest(TestKit.payload(bundle, policy.toJson(), secret), candidates));
  }

  SendPolicy policy(
      SendPolicy.RecipientSelector selector,
      SendPolicy.KdmRules rules,
      Instant nb,
      Instant na,
      boolean late) {
    return new SendPolicy(
        1,
        "film-" + films.incrementAndGet() + ":kdm",
        "Studio",
        nb,
        na,
        selector,
        late,
        100,
        null,
        rules);
  }

  SendPolicy.RecipientSelector anchorA() throws Exception {
    return new SendPolicy.RecipientSelector(null, List.of(b64(makerA.root())), null);
  }

  static SendPolicy.KdmRules mt1() {
    return new SendPolicy.KdmRules(null, null, null, null);
  }

  static String b64(java.security.cert.X509Certificate c) throws Exception {
    return Base64.getEncoder().encodeToString(c.getEncoded());
  }

  static EnclaveApi.Candidate screen(TestScreens.Screen s, String utcOffset, List<String> devices)
      throws Exception {
    List<String> chain = new ArrayList<>();
    for (var c : s.chain()) {
      chain.add(Base64Url.encode(c.getEncoded()));
    }
    return new EnclaveApi.Candidate(
        Base64Url.encode(s.leaf().getPublicKey().getEncoded()), chain, utcOffset, devices);
  }

  static ContentKeySet contentKeys(int n) throws Exception {
    List<ContentKey> keys = new ArrayList<>();
    KeyType[] types = {KeyType.MDIK, KeyType.MDAK, KeyType.MDSK};
    for (int i = 0; i < n; i++) {
      byte[] k = new byte[16];
      RANDOM.nextBytes(k);
      keys.add(ContentKey.of(UUID.randomUUID(), types[i % types.length], k));
    }
    return ContentKeySet.of(
        UUID.randomUUID(), "Keycast_Test_FTR-1_F_EN-XX_51_2K_20261207_SMPTE_OV", keys);
  }

  static void assertError(HttpResponse<String> r, ErrorCode code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.status());
    assertThat(json(r, ErrorBody.class).error()).as(r.body()).isEqualTo(code.code());
  }
}
