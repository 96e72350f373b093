package dev.keycast.enclave.server;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.ParsedCertificate;
import dev.keycast.protocol.policy.SendPolicy;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-screen checks of a KDM send before its KDM is written (issue 24), in process on one
 * thread, as they were and as they are: candidate parsing, the chain as JDK certificates, the ST
 * 430-2 validation and the policy's anchor check. "each time" parses, converts and validates every
 * certificate of every chain (the code before the per-send caches); "once per send" uses a send's
 * caches (CAs parsed, converted and validated once; every leaf in full). Rounds alternate, each a
 * fresh send. Prints the thread CPU time per screen. Not a test. Arguments: {@code [screens]
 * [rounds]}.
 */
public final class ScreenCheckBenchMain {
  private ScreenCheckBenchMain() {}

  public static void main(String[] args) throws Exception {
    int screens = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    TestScreens.Manufacturer maker =
        TestScreens.manufacturer(
            "MAKER-A.TEST",
            now.minus(Duration.ofDays(30)),
            now.plus(Duration.ofDays(365)),
            true,
            random);
    List<EnclaveApi.Candidate> candidates = new ArrayList<>();
    for (int i = 0; i < screens; i++) {
      TestScreens.Screen s =
          TestScreens.screen(
              maker,
              TestScreens.Spec.valid(now.minus(Duration.ofDays(30)), now.plus(Duration.ofDays(300)))
                  .withCommonName("LE SPB MD FM SM.IMB-" + i + ".DC.TESTMAKER.SMPTE"),
              random);
      candidates.add(KdmSendTest.screen(s, "+01:00", List.of()));
    }
    SendPolicy policy =
        new SendPolicy(
            1,
            "bench:screens",
            "Studio",
            now.minus(Duration.ofHours(1)),
            now.plus(Duration.ofDays(14)),
            new SendPolicy.RecipientSelector(
                null, List.of(Base64.getEncoder().encodeToString(maker.root().getEncoded())), null),
            false,
            screens,
            null,
            new SendPolicy.KdmRules(null, null, null, null));
    RecipientValidator validator = new RecipientValidator();
    var threads = ManagementFactory.getThreadMXBean();
    for (int r = 0; r < rounds; r++) {
      for (boolean once : new boolean[] {false, true}) {
        Eligibility eligibility = new Eligibility(policy);
        Map<ByteBuffer, ParsedCertificate> parsed = once ? new ConcurrentHashMap<>() : null;
        Map<ByteBuffer, X509Certificate> converted = new ConcurrentHashMap<>();
        DcCertificateChainValidator.Memo memo =
            once ? new DcCertificateChainValidator.Memo(now) : null;
        long t0 = threads.getCurrentThreadCpuTime();
        int eligible = 0;
        for (EnclaveApi.Candidate c : candidates) {
          RecipientValidator.Parsed p = validator.parse(c, parsed);
          List<X509Certificate> chain = new ArrayList<>();
          for (int i = 0; i < p.chain().size(); i++) {
            ParsedCertificate pc = p.chain().get(i);
            if (once && i > 0) {
              X509Certificate known = converted.get(ByteBuffer.wrap(pc.encoded()));
              if (known == null) {
                known = pc.toX509Certificate();
                converted.put(ByteBuffer.wrap(pc.encoded()), known);
              }
              chain.add(known);
            } else {
              chain.add(pc.toX509Certificate());
            }
          }
          DcCertificateChainValidator.validateScreen(chain, now, memo);
          if (eligibility.decideParsed(p.key().fingerprint(), p.chain(), now, false).eligible()) {
            eligible++;
          }
        }
        long cpu = threads.getCurrentThreadCpuTime() - t0;
        System.out.printf(
            "round %d %-13s: %d screens, %d eligible, %.1f us CPU per screen%n",
            r, once ? "once per send" : "each time", screens, eligible, cpu / 1e3 / screens);
      }
    }
  }
}
