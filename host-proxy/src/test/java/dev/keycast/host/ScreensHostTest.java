package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.KdmFileNames;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.KeyType;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.cinema.VerifiedKdm;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Screens on a real host (Netty, SQLite, real sockets) in front of the fake enclave: registration
 * with the ST 430-2 pre-check, the sender-signed requests the screen and KDM routes demand (and the
 * attacks on them), screens as the candidates of KDM sends and late KDM forwards, and the KDM zips.
 */
class ScreensHostTest {
  static final SecureRandom RANDOM = new SecureRandom();

  /** One manufacturer and a few screens for the whole class (RSA key generation is slow). */
  static TestScreens.Manufacturer maker;

  static TestScreens.Spec valid;
  static TestScreens.Screen screenA;
  static TestScreens.Screen screenB;
  static TestScreens.Screen screenC;

  @TempDir Path dir;
  FakeEnclave enclave;
  HostProxy host;

  @BeforeAll
  static void screens() {
    Instant now = Instant.now();
    maker =
        TestScreens.manufacturer(
            "DC2.SMPTE.TESTMAKER.COM",
            now.minus(Duration.ofDays(400)),
            now.plus(Duration.ofDays(3000)),
            true,
            RANDOM);
    valid =
        TestScreens.Spec.valid(
            now.minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.SECONDS),
            now.plus(Duration.ofDays(1000)).truncatedTo(ChronoUnit.SECONDS));
    screenA = TestScreens.screen(maker, valid, RANDOM);
    screenB = TestScreens.screen(maker, valid, RANDOM);
    screenC = TestScreens.screen(maker, valid, RANDOM);
  }

  @BeforeEach
  void start() throws Exception {
    enclave = new FakeEnclave().start();
    enclave.senders = List.of(HostTestSupport.SENDER.publicKey());
    host =
        HostTestSupport.start(
            enclave, SqliteArtefactStore.open(dir.resolve("screens.db")), "alias/k");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
  }

  @AfterEach
  void stop() throws Exception {
    HostTestSupport.stop(host, enclave);
  }

  // ------------------------------------------------------------------ helpers

  static List<String> chainB64(TestScreens.Screen s) throws Exception {
    return s.chain().stream()
        .map(
            c -> {
              try {
                return Base64.getEncoder().encodeToString(c.getEncoded());
              } catch (Exception e) {
                throw new AssertionError(e);
              }
            })
        .toList();
  }

  static byte[] registration(TestScreens.Screen s, String cinema, String screen, String offset)
      throws Exception {
    return Json.encode(
        new HostApi.RegisterScreen(
            chainB64(s), cinema, screen, offset, List.of(thumbprint(screenC))));
  }

  static String thumbprint(TestScreens.Screen s) throws Exception {
    return DcCertificates.thumbprintBase64(s.leaf());
  }

  static String thumbUrl(TestScreens.Screen s) throws Exception {
    return Base64Url.encode(Base64.getDecoder().decode(thumbprint(s)));
  }

  static String fingerprint(TestScreens.Screen s) {
    return Fingerprints.ofSpki(s.leaf().getPublicKey().getEncoded());
  }

  /** {@code method target} with {@code body}, signed by {@code key} at {@code at} (null key: unsigned). */
  HttpResponse<byte[]> call(
      String method, String target, byte[] body, SenderSigningKey key, Instant at)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base(host) + target))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (key != null) {
      b.header(
          "Authorization", SenderRequestSignature.authorization(key, method, target, body, at));
    }
    return HostTestSupport.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  HttpResponse<byte[]> signed(String method, String target, byte[] body) throws Exception {
    return call(method, target, body, HostTestSupport.SENDER, Instant.now());
  }

  HostApi.Screen register(TestScreens.Screen s, String cinema, String name, String offset)
      throws Exception {
    HttpResponse<byte[]> r = signed("POST", "/v1/screens", registration(s, cinema, name, offset));
    assertThat(r.statusCode()).as(text(r)).isIn(200, 201);
    return json(r, HostApi.Screen.class);
  }

  List<HostApi.Screen> listed(String cinema) throws Exception {
    HttpResponse<byte[]> r =
        signed(
            "GET",
            "/v1/screens"
                + (cinema == null
                    ? ""
                    : "?cinema="
                        + java.net.URLEncoder.encode(cinema, StandardCharsets.UTF_8)
                            .replace("+", "%20")),
            null);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    return json(r, HostApi.ScreenPage.class).screens();
  }

  static String error(HttpResponse<byte[]> r) throws Exception {
    return json(r, ErrorBody.class).error();
  }

  static final UUID CPL = UUID.fromString("0b6c3f8e-2f3a-4d4b-9c1e-7a8b9c0d1e2f");

  static byte[] contentKeys() throws Exception {
    return ContentKeySetCodec.encode(
        ContentKeySet.of(
            CPL,
            "Keycast Test Feature (2026) FTR",
            List.of(
                ContentKey.of(
                    UUID.randomUUID(),
                    KeyType.MDIK,
                    HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f")),
                ContentKey.of(
                    UUID.randomUUID(),
                    KeyType.MDAK,
                    HexFormat.of().parseHex("f0e0d0c0b0a090807060504030201000")))));
  }

  static SendPolicy kdmPolicy(List<String> fingerprints, List<String> thumbprints, boolean late) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    return new SendPolicy(
        SendPolicy.VERSION,
        "kdm-" + System.nanoTime(),
        "tests",
        now.plus(Duration.ofHours(1)),
        now.plus(Duration.ofDays(2)),
        new SendPolicy.RecipientSelector(fingerprints, null, null, thumbprints),
        late,
        10,
        null,
        new SendPolicy.KdmRules(null, null, null, null));
  }

  HostApi.SendResult send(SendPolicy policy, byte[] secret) throws Exception {
    HttpResponse<byte[]> r =
        HostTestSupport.post(
            base(host) + "/v1/sends",
            Json.encode(HostTestSupport.payload(enclave.keySet(), policy, secret)));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    return json(r, HostApi.SendResult.class);
  }

  static Map<String, byte[]> unzip(byte[] zip) throws Exception {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        out.put(e.getName(), in.readAllBytes());
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ registration

  @Test
  void aScreenIsRegisteredReplacedAndListedByItsCinema() throws Exception {
    HttpResponse<byte[]> first =
        signed(
            "POST",
            "/v1/screens",
            registration(screenA, "Odeon Leicester Square", "Screen 1", "+01:00"));
    assertThat(first.statusCode()).as(text(first)).isEqualTo(201);
    HostApi.Screen s = json(first, HostApi.Screen.class);
    assertThat(s.thumbprint()).isEqualTo(thumbprint(screenA));
    assertThat(s.thumbprintUrl()).isEqualTo(thumbUrl(screenA));
    assertThat(s.fingerprint()).isEqualTo(fingerprint(screenA));
    assertThat(s.subject()).contains("SM.IMB-000001");
    assertThat(s.utcOffset()).isEqualTo("+01:00");
    assertThat(s.trustedDevices()).containsExactly(thumbprint(screenC));

    HttpResponse<byte[]> again =
        signed(
            "POST",
            "/v1/screens",
            registration(screenA, "Odeon Leicester Square", "Screen 1 (IMAX)", null));
    assertThat(again.statusCode()).as(text(again)).isEqualTo(200);
    register(screenB, "Kino Wien", null, "-03:30");

    assertThat(listed("Odeon Leicester Square"))
        .singleElement()
        .satisfies(
            x -> {
              assertThat(x.screen()).isEqualTo("Screen 1 (IMAX)");
              assertThat(x.utcOffset())
                  .isEqualTo("+01:00"); // kept: the second registration gave none
            });
    assertThat(listed("Kino Wien"))
        .extracting(HostApi.Screen::fingerprint)
        .containsExactly(fingerprint(screenB));
    assertThat(listed(null)).hasSize(2);
    // a screen is not a recipient: no recipient registration exists for its key
    assertThat(
            HostTestSupport.get(base(host) + "/v1/recipients/" + fingerprint(screenA), "x")
                .statusCode())
        .isEqualTo(401);
  }

  static Stream<Arguments> brokenScreens() {
    return Stream.of(
        Arguments.of(
            "wrong role (no SM)",
            (UnaryOperator<TestScreens.Spec>)
                s -> s.withCommonName("LE SPB MD FM.IMB-1.DC.TESTMAKER.SMPTE"),
            "screen_certificate_role"),
        Arguments.of(
            "RSA-1024",
            (UnaryOperator<TestScreens.Spec>) s -> s.withKey(1024, RSAKeyGenParameterSpec.F4),
            "screen_certificate_rsa_size"),
        Arguments.of(
            "exponent 3",
            (UnaryOperator<TestScreens.Spec>) s -> s.withKey(2048, BigInteger.valueOf(3)),
            "screen_certificate_rsa_exponent"),
        Arguments.of(
            "UTF8String names",
            (UnaryOperator<TestScreens.Spec>) TestScreens.Spec::withUtf8Names,
            "screen_certificate_string_encoding"),
        Arguments.of(
            "wrong dnQualifier",
            (UnaryOperator<TestScreens.Spec>) TestScreens.Spec::withWrongDnQualifier,
            "screen_certificate_dn_qualifier"),
        Arguments.of(
            "expired",
            (UnaryOperator<TestScreens.Spec>)
                s ->
                    s.withValidity(
                        Instant.now().minus(Duration.ofDays(300)).truncatedTo(ChronoUnit.SECONDS),
                        Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.SECONDS)),
            "screen_certificate_expired"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenScreens")
  void aScreenBreakingOneRuleIsRefusedWithTheChecksCodeAndNothingIsStored(
      String what, UnaryOperator<TestScreens.Spec> change, String code) throws Exception {
    TestScreens.Screen bad = TestScreens.screen(maker, change.apply(valid), RANDOM);
    HttpResponse<byte[]> r = signed("POST", "/v1/screens", registration(bad, "Cinema", "1", null));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(400);
    ErrorBody e = json(r, ErrorBody.class);
    assertThat(e.error()).isEqualTo(code);
    assertThat(e.message()).isNotBlank();
    assertThat(listed(null)).isEmpty();
  }

  @Test
  void malformedRegistrationsAreRefusedWithAReason() throws Exception {
    HttpResponse<byte[]> oneCert =
        signed(
            "POST",
            "/v1/screens",
            Json.encode(
                new HostApi.RegisterScreen(
                    chainB64(screenA).subList(0, 1), null, null, null, null)));
    assertThat(error(oneCert)).isEqualTo("screen_certificate_chain_length");
    HttpResponse<byte[]> offsetAlone =
        signed("POST", "/v1/screens", registration(screenA, null, null, "+01:00"));
    assertThat(offsetAlone.statusCode()).isEqualTo(400);
    assertThat(text(offsetAlone)).contains("utc_offset");
    HttpResponse<byte[]> badOffset =
        signed("POST", "/v1/screens", registration(screenA, "C", null, "+1:00"));
    assertThat(error(badOffset)).isEqualTo("malformed_request");
    HttpResponse<byte[]> slash =
        signed("POST", "/v1/screens", registration(screenA, "../etc", null, null));
    assertThat(error(slash)).isEqualTo("malformed_request");
    assertThat(listed(null)).isEmpty();
  }

  // ------------------------------------------------------------------ attacks on the signed routes

  @Test
  void anonymousClientCannotRegisterScreens() throws Exception {
    HttpResponse<byte[]> r =
        call("POST", "/v1/screens", registration(screenA, "C", "1", null), null, null);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("sender_required");
    assertThat(listed(null)).isEmpty();
  }

  @Test
  void anonymousClientCannotListScreensOrFetchKdms() throws Exception {
    register(screenA, "C", "1", null);
    for (String target :
        List.of(
            "/v1/screens", "/v1/screens/" + thumbUrl(screenA) + "/kdms", "/v1/cinemas/C/kdms")) {
      HttpResponse<byte[]> r = call("GET", target, null, null, null);
      assertThat(r.statusCode()).as(target).isEqualTo(401);
      assertThat(error(r)).isEqualTo("sender_required");
    }
  }

  @Test
  void unknownSenderCannotRegisterScreens() throws Exception {
    SenderSigningKey stranger = SenderSigningKey.generate(RANDOM);
    HttpResponse<byte[]> r =
        call("POST", "/v1/screens", registration(screenA, "C", "1", null), stranger, Instant.now());
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(error(r)).isEqualTo("sender_unknown");
    assertThat(listed(null)).isEmpty();
    // once the owner admits it (the enclave's set changes), the host follows within a second
    // (an unknown key refreshes the host's copy of the set, at most once a second)
    enclave.senders = List.of(HostTestSupport.SENDER.publicKey(), stranger.publicKey());
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                call(
                            "POST",
                            "/v1/screens",
                            registration(screenA, "C", "1", null),
                            stranger,
                            Instant.now())
                        .statusCode()
                    == 201);
  }

  @Test
  void requestReplayedOutsideTheWindowIsRefused() throws Exception {
    byte[] body = registration(screenA, "C", "1", null);
    Instant captured = Instant.now().minusSeconds(SenderRequestSignature.WINDOW_SECONDS + 5);
    HttpResponse<byte[]> r = call("POST", "/v1/screens", body, HostTestSupport.SENDER, captured);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("sender_timestamp_out_of_window");
    HttpResponse<byte[]> future =
        call(
            "POST",
            "/v1/screens",
            body,
            HostTestSupport.SENDER,
            Instant.now().plusSeconds(SenderRequestSignature.WINDOW_SECONDS + 5));
    assertThat(error(future)).isEqualTo("sender_timestamp_out_of_window");
    assertThat(listed(null)).isEmpty();
  }

  @Test
  void bodyAlteredAfterSigningIsRefused() throws Exception {
    byte[] signedBody = registration(screenA, "C", "1", null);
    byte[] altered = registration(screenB, "C", "1", null);
    String auth =
        SenderRequestSignature.authorization(
            HostTestSupport.SENDER, "POST", "/v1/screens", signedBody, Instant.now());
    HttpResponse<byte[]> r =
        HostTestSupport.HTTP.send(
            HttpRequest.newBuilder(URI.create(base(host) + "/v1/screens"))
                .header("Authorization", auth)
                .POST(HttpRequest.BodyPublishers.ofByteArray(altered))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("sender_signature_invalid");
    assertThat(listed(null)).isEmpty();
  }

  @Test
  void signatureOfOneScreensFetchCannotFetchAnothersKdms() throws Exception {
    register(screenA, "C", "1", null);
    register(screenB, "C", "2", null);
    String auth =
        SenderRequestSignature.authorization(
            HostTestSupport.SENDER,
            "GET",
            "/v1/screens/" + thumbUrl(screenA) + "/kdms",
            null,
            Instant.now());
    HttpResponse<byte[]> r =
        HostTestSupport.HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(base(host) + "/v1/screens/" + thumbUrl(screenB) + "/kdms"))
                .header("Authorization", auth)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("sender_signature_invalid");
  }

  @Test
  void forgedSignatureUnderAnAdmittedKeyIsRefused() throws Exception {
    String genuine =
        SenderRequestSignature.authorization(
            HostTestSupport.SENDER,
            "POST",
            "/v1/screens",
            registration(screenA, "C", "1", null),
            Instant.now());
    // the attacker knows the admitted key but not its seed: it signs with its own key and claims
    // the sender's
    SenderSigningKey attacker = SenderSigningKey.generate(RANDOM);
    String forged =
        SenderRequestSignature.authorization(
            attacker, "POST", "/v1/screens", registration(screenA, "C", "1", null), Instant.now());
    String claimed =
        genuine.substring(0, genuine.indexOf(", ts=")) + forged.substring(forged.indexOf(", ts="));
    HttpResponse<byte[]> r =
        HostTestSupport.HTTP.send(
            HttpRequest.newBuilder(URI.create(base(host) + "/v1/screens"))
                .header("Authorization", claimed)
                .POST(HttpRequest.BodyPublishers.ofByteArray(registration(screenA, "C", "1", null)))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("sender_signature_invalid");
    assertThat(listed(null)).isEmpty();
  }

  @Test
  void withoutAnEnclaveSenderSetEverySignedRequestIsRefused() throws Exception {
    enclave.senders = List.of();
    // the host's cached set expires; a fresh host has none cached
    HostTestSupport.stop(host, null);
    host =
        HostTestSupport.start(
            enclave, SqliteArtefactStore.open(dir.resolve("screens.db")), "alias/k");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    HttpResponse<byte[]> r = signed("POST", "/v1/screens", registration(screenA, "C", "1", null));
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(error(r)).isEqualTo("sender_unknown");
  }

  // ------------------------------------------------------------------ candidates, forwards, zips

  @Test
  void aKdmSendGetsScreensAsCandidatesAndAnOrdinarySendDoesNot() throws Exception {
    register(screenA, "Odeon", "1", "+01:00");
    register(screenB, "Odeon", "2", null);
    register(screenC, null, null, null);
    HostTestSupport.Recipient x = HostTestSupport.Recipient.generate();
    assertThat(
            HostTestSupport.post(base(host) + "/v1/recipients", x.registration(base(host)))
                .statusCode())
        .isEqualTo(201);

    send(
        kdmPolicy(
            List.of(fingerprint(screenB), x.fingerprint()), List.of(thumbprint(screenA)), false),
        contentKeys());
    List<EnclaveApi.Candidate> c = enclave.lastCandidates;
    assertThat(c)
        .extracting(EnclaveApi.Candidate::key)
        .containsExactlyInAnyOrder(
            Base64Url.encode(screenA.leaf().getPublicKey().getEncoded()),
            Base64Url.encode(screenB.leaf().getPublicKey().getEncoded()));
    EnclaveApi.Candidate a =
        c.stream()
            .filter(
                k -> k.key().equals(Base64Url.encode(screenA.leaf().getPublicKey().getEncoded())))
            .findFirst()
            .orElseThrow();
    assertThat(a.chain())
        .containsExactly(
            Base64Url.encode(screenA.chain().get(0).getEncoded()),
            Base64Url.encode(screenA.chain().get(1).getEncoded()),
            Base64Url.encode(screenA.chain().get(2).getEncoded()));
    assertThat(a.utcOffset()).isEqualTo("+01:00");
    assertThat(a.trustedDevices()).containsExactly(thumbprint(screenC));

    // an ordinary send that lists the screen's key fingerprint gets no screen (and the recipient)
    HostTestSupport.post(
        base(host) + "/v1/sends",
        Json.encode(
            HostTestSupport.payload(
                enclave.keySet(),
                HostTestSupport.policy(
                    "plain-" + System.nanoTime(),
                    List.of(fingerprint(screenA), x.fingerprint()),
                    false),
                new byte[] {1})));
    assertThat(enclave.lastCandidates)
        .extracting(EnclaveApi.Candidate::key)
        .containsExactly(x.spki());
  }

  @Test
  void kdmZipsNameEachFileAsSpecifiedAndHoldTheStoredKdms() throws Exception {
    register(screenA, "Odeon Leicester Square", "Screen 1", "+01:00");
    register(screenB, "Odeon Leicester Square", null, null);
    register(screenC, "Elsewhere", "9", null);
    SendPolicy policy =
        kdmPolicy(
            List.of(),
            List.of(thumbprint(screenA), thumbprint(screenB), thumbprint(screenC)),
            false);
    HostApi.SendResult sent = send(policy, contentKeys());
    assertThat(sent.delivered()).hasSize(3);

    HttpResponse<byte[]> one = signed("GET", "/v1/screens/" + thumbUrl(screenA) + "/kdms", null);
    assertThat(one.statusCode()).as(text(one)).isEqualTo(200);
    assertThat(one.headers().firstValue("Content-Type")).contains("application/zip");
    Map<String, byte[]> files = unzip(one.body());
    ZoneOffset plusOne = ZoneOffset.ofHours(1);
    String expected =
        KdmFileNames.name(
            "Keycast Test Feature (2026) FTR",
            "Odeon Leicester Square",
            "Screen 1",
            policy.notBefore().atOffset(plusOne),
            policy.notAfter().atOffset(plusOne),
            plusOne,
            CPL);
    assertThat(files).containsOnlyKeys(expected);
    assertThat(expected)
        .startsWith("Keycast-Test-Feature--2026--FTR_Odeon-Leicester-Square_Screen-1_")
        .endsWith("_" + CPL + ".kdm.xml");
    // the file is the stored KDM: it verifies under the enclave's signer and opens with screen A's
    // key
    VerifiedKdm kdm =
        KdmReader.read(files.get(expected), enclave.kdmSigner().root(), screenA.privateKey());
    assertThat(kdm.cplId()).isEqualTo(CPL);
    assertThat(kdm.blocks()).hasSize(2);

    Map<String, byte[]> cinema =
        unzip(signed("GET", "/v1/cinemas/Odeon%20Leicester%20Square/kdms", null).body());
    assertThat(cinema).hasSize(2).containsKey(expected);
    assertThat(cinema.keySet())
        .anySatisfy(n -> assertThat(n).contains("_" + thumbUrl(screenB).replace("_", "-") + "_"));
    assertThat(cinema.keySet())
        .allSatisfy(n -> assertThat(KdmFileNames.isSafeFileName(n)).isTrue());

    // a second send of the same CPL and window to screen A: both kept, the second numbered
    send(
        new SendPolicy(
            SendPolicy.VERSION,
            "kdm-again-" + System.nanoTime(),
            "tests",
            policy.notBefore(),
            policy.notAfter(),
            policy.recipients(),
            false,
            10,
            null,
            policy.kdm()),
        contentKeys());
    assertThat(
            unzip(signed("GET", "/v1/screens/" + thumbUrl(screenA) + "/kdms", null).body())
                .keySet())
        .containsExactlyInAnyOrder(expected, KdmFileNames.numbered(expected, 2));

    assertThat(signed("GET", "/v1/cinemas/Nowhere/kdms", null).statusCode()).isEqualTo(404);
    assertThat(signed("GET", "/v1/screens/" + "A".repeat(27) + "/kdms", null).statusCode())
        .isEqualTo(404);
    assertThat(signed("GET", "/v1/screens/not-a-thumbprint/kdms", null).statusCode())
        .isEqualTo(400);
  }

  @Test
  void aScreenRegisteredAfterALateKdmSendGetsItsKdmByAForward() throws Exception {
    SendPolicy policy = kdmPolicy(List.of(), List.of(thumbprint(screenA)), true);
    HostApi.SendResult sent = send(policy, contentKeys());
    assertThat(sent.delivered()).isEmpty();
    // an X25519 recipient registering later is not offered the KDM send
    HostTestSupport.Recipient x = HostTestSupport.Recipient.generate();
    HostTestSupport.post(base(host) + "/v1/recipients", x.registration(base(host)));
    assertThat(enclave.hits("/v1/forward")).isZero();

    HostApi.Screen s = register(screenA, "Late Cinema", "1", "+05:30");
    assertThat(s.lateDeliveries()).isEqualTo(1);
    assertThat(enclave.lastForwardCandidates)
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.key())
                  .isEqualTo(Base64Url.encode(screenA.leaf().getPublicKey().getEncoded()));
              assertThat(c.utcOffset()).isEqualTo("+05:30");
            });
    Map<String, byte[]> files =
        unzip(signed("GET", "/v1/screens/" + thumbUrl(screenA) + "/kdms", null).body());
    assertThat(files).hasSize(1);
    assertThat(files.keySet().iterator().next()).contains("_Late-Cinema_1_");
    // registering again forwards nothing twice
    assertThat(register(screenA, "Late Cinema", "1", null).lateDeliveries()).isZero();
  }
}
