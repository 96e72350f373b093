package dev.keycast.bench.jmh;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.ParsedCertificate;
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
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The other per-recipient costs of a send (api.md 1.1 step 6): parsing a candidate's key, and for
 * a policy that selects by anchor, parsing its certificate chain and validating it against the
 * anchor. {@link #parseAndValidateChain} is the enclave's path (its {@code RecipientValidator.parse}
 * and {@code SendService}'s decision): the candidate as the host sends it (base64url SPKI and
 * certificates), each certificate parsed once into a {@link ParsedCertificate}, the leaf checked to
 * carry the key, the RSA key addressed by the leaf's issuer and serial ({@link
 * RsaRecipientKey#withLeaf}), then {@link Eligibility#decideParsed} (signature checks on the
 * process's crypto backend). {@link #parseAndValidateChainJdk} is the earlier path through the
 * JDK's {@code CertificateFactory} and {@link Eligibility#decide}, for comparison. Together with
 * {@link FanoutBenchmark} this projects the enclave's compute for a large send (performance target
 * 2).
 *
 * <p>{@code backend} sets {@code keycast.crypto} in the forked JVM before anything uses it (the
 * set-up fails if the process then runs another backend).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CandidateBenchmark {

  @State(Scope.Thread)
  public static class Candidate {
    /** The process's crypto backend for the chain's signature checks. */
    @Param({"java", "openssl"})
    String backend;

    EnclaveApi.Candidate wire;
    byte[] rsaSpki;
    byte[] leafDer;
    byte[] caDer;
    Eligibility eligibility;
    Instant now;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      System.setProperty(CryptoBackends.PROPERTY, backend);
      SecureRandom random = new SecureRandom();
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, random);
      KeyPair ca = g.generateKeyPair();
      KeyPair leaf = g.generateKeyPair();
      rsaSpki = leaf.getPublic().getEncoded();
      now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      X500Name caName = new X500Name("CN=Bench CA");
      var caBuilder =
          new JcaX509v3CertificateBuilder(
              caName,
              BigInteger.ONE,
              Date.from(now.minus(1, ChronoUnit.DAYS)),
              Date.from(now.plus(1, ChronoUnit.DAYS)),
              caName,
              ca.getPublic());
      caBuilder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      var signer = new JcaContentSignerBuilder("SHA256withRSA").build(ca.getPrivate());
      X509Certificate caCert =
          new JcaX509CertificateConverter().getCertificate(caBuilder.build(signer));
      X509Certificate leafCert =
          new JcaX509CertificateConverter()
              .getCertificate(
                  new JcaX509v3CertificateBuilder(
                          caName,
                          BigInteger.TWO,
                          Date.from(now.minus(1, ChronoUnit.DAYS)),
                          Date.from(now.plus(1, ChronoUnit.DAYS)),
                          new X500Name("CN=projector 1"),
                          leaf.getPublic())
                      .build(signer));
      caDer = caCert.getEncoded();
      leafDer = leafCert.getEncoded();
      SendPolicy policy =
          new SendPolicy(
              1,
              "bench",
              "bench",
              now.minus(1, ChronoUnit.HOURS),
              now.plus(1, ChronoUnit.HOURS),
              new SendPolicy.RecipientSelector(null, List.of(Base64Url.encode(caDer)), null),
              false,
              10,
              null);
      eligibility = new Eligibility(policy);
      if (!eligibility
          .decide(
              RecipientKeys.fromSpki(rsaSpki).fingerprint(), List.of(leafCert, caCert), now, false)
          .eligible()) {
        throw new IllegalStateException("benchmark chain is not eligible");
      }
      if (!CryptoBackends.get().name().equals(backend)) {
        throw new IllegalStateException(
            "the process runs " + CryptoBackends.description() + ", not " + backend);
      }
      wire =
          new EnclaveApi.Candidate(
              Base64Url.encode(rsaSpki),
              List.of(Base64Url.encode(leafDer), Base64Url.encode(caDer)));
      if (!parseAndDecide(this).eligible()) {
        throw new IllegalStateException("benchmark chain is not eligible on the parsed path");
      }
    }
  }

  /** Largest certificate the enclave accepts (its {@code RecipientValidator.MAX_CERTIFICATE_BYTES}). */
  private static final int MAX_CERTIFICATE_BYTES = 16 * 1024;

  static Eligibility.Decision parseAndDecide(Candidate c) throws MalformedInputException {
    EnclaveApi.Candidate w = c.wire;
    RecipientKey key =
        RecipientKeys.fromSpki(Base64Url.decode("key", w.key(), RecipientKeys.MAX_INPUT_LENGTH));
    ParsedCertificate[] chain = new ParsedCertificate[w.chain().size()];
    for (int i = 0; i < chain.length; i++) {
      chain[i] =
          ParsedCertificate.parse(
              Base64Url.decode("chain[" + i + "]", w.chain().get(i), MAX_CERTIFICATE_BYTES));
    }
    if (!chain[0].hasPublicKey(key.spkiDer())) {
      throw new IllegalStateException("leaf does not carry the key");
    }
    if (key instanceof RsaRecipientKey rsa) {
      key = rsa.withLeaf(chain[0].asn1());
    }
    String fp = key.fingerprint();
    return c.eligibility.decideParsed(fp, List.of(chain), c.now, false);
  }

  /** A bare RSA-2048 candidate key (SPKI DER) parsed and checked. */
  @Benchmark
  public RecipientKey parseRsaKey(Candidate c) throws MalformedInputException {
    return RecipientKeys.fromSpki(c.rsaSpki);
  }

  /**
   * A candidate with a two-certificate chain as the enclave handles it: base64url decoding, key
   * and certificates parsed once ({@link ParsedCertificate}), leaf-key check, CMS addressing, and
   * the decision by anchor.
   */
  @Benchmark
  public Eligibility.Decision parseAndValidateChain(Candidate c) throws Exception {
    return parseAndDecide(c);
  }

  /** The earlier path: JDK {@code CertificateFactory} and {@link Eligibility#decide} (PKIX). */
  @Benchmark
  public Eligibility.Decision parseAndValidateChainJdk(Candidate c) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    X509Certificate leaf =
        (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(c.leafDer));
    X509Certificate ca =
        (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(c.caDer));
    RecipientKey key = RecipientKeys.fromSpki(leaf.getPublicKey().getEncoded());
    return c.eligibility.decide(key.fingerprint(), List.of(leaf, ca), c.now, false);
  }
}
