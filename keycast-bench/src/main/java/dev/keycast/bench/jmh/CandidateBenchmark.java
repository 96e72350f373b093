package dev.keycast.bench.jmh;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The other per-recipient costs of a send (api.md 1.1 step 6): parsing a candidate's key, and for
 * a policy that selects by anchor, parsing its certificate chain and validating it (PKIX) in
 * {@link Eligibility#decide}. Together with {@link FanoutBenchmark} this projects the enclave's
 * compute for a large send (performance target 2).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CandidateBenchmark {

  @State(Scope.Thread)
  public static class Candidate {
    byte[] rsaSpki;
    byte[] leafDer;
    byte[] caDer;
    Eligibility eligibility;
    Instant now;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      SecureRandom random = new SecureRandom();
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, random);
      KeyPair ca = g.generateKeyPair();
      KeyPair leaf = g.generateKeyPair();
      rsaSpki = leaf.getPublic().getEncoded();
      now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      X500Name caName = new X500Name("CN=Bench CA");
      var caBuilder = new JcaX509v3CertificateBuilder(caName, BigInteger.ONE,
          Date.from(now.minus(1, ChronoUnit.DAYS)), Date.from(now.plus(1, ChronoUnit.DAYS)), caName,
          ca.getPublic());
      caBuilder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      var signer = new JcaContentSignerBuilder("SHA256withRSA").build(ca.getPrivate());
      X509Certificate caCert = new JcaX509CertificateConverter().getCertificate(caBuilder.build(signer));
      X509Certificate leafCert = new JcaX509CertificateConverter().getCertificate(
          new JcaX509v3CertificateBuilder(caName, BigInteger.TWO, Date.from(now.minus(1, ChronoUnit.DAYS)),
              Date.from(now.plus(1, ChronoUnit.DAYS)), new X500Name("CN=projector 1"), leaf.getPublic())
              .build(signer));
      caDer = caCert.getEncoded();
      leafDer = leafCert.getEncoded();
      SendPolicy policy = new SendPolicy(1, "bench", "bench", now.minus(1, ChronoUnit.HOURS),
          now.plus(1, ChronoUnit.HOURS),
          new SendPolicy.RecipientSelector(null, List.of(Base64Url.encode(caDer)), null), false, 10, null);
      eligibility = new Eligibility(policy);
      if (!eligibility.decide(RecipientKeys.fromSpki(rsaSpki).fingerprint(),
          List.of(leafCert, caCert), now, false).eligible()) {
        throw new IllegalStateException("benchmark chain is not eligible");
      }
    }
  }

  /** A bare RSA-2048 candidate key (SPKI DER) parsed and checked. */
  @Benchmark
  public RecipientKey parseRsaKey(Candidate c) throws MalformedInputException {
    return RecipientKeys.fromSpki(c.rsaSpki);
  }

  /** A candidate with a two-certificate chain: parse both, then decide eligibility by anchor (PKIX). */
  @Benchmark
  public Eligibility.Decision parseAndValidateChain(Candidate c) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    X509Certificate leaf = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(c.leafDer));
    X509Certificate ca = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(c.caDer));
    RecipientKey key = RecipientKeys.fromSpki(leaf.getPublicKey().getEncoded());
    return c.eligibility.decide(key.fingerprint(), List.of(leaf, ca), c.now, false);
  }
}
