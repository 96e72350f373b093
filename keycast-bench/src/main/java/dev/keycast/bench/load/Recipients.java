package dev.keycast.bench.load;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.RSAPublicKeySpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.stream.IntStream;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test recipients for load runs: their registration key (the {@code key} field of {@code POST
 * /v1/recipients}), fingerprint and private key (registration proves possession, api.md 2.2).
 *
 * <p>Kinds: {@code x25519} (fresh X25519 keys, about 10,000 per second) and {@code rsa2048}
 * (RSA-2048 keys from a <em>pool of primes</em>: every modulus is the product of two of k
 * 1024-bit primes, k(k-1)/2 >= count, so 10,000 distinct keys cost ~142 prime searches instead of
 * 20,000. They are real key pairs (the private key signs the proof of possession) but share
 * factors, so they are for load tests only; the enclave's cost per delivery is that of any
 * RSA-2048 key).
 *
 * <p>With a chain, each recipient key is certified by a per-run test CA (RSA-2048, SHA256withRSA)
 * and registered as a PEM chain (leaf, CA); a policy can then select all of them by naming the CA
 * as its anchor, which is how a send reaches more recipients than a fingerprint list fits in the
 * 256 KiB policy.
 */
final class Recipients {
  /** One generated recipient. */
  /**
   * One generated recipient; {@code privateKey} is PKCS#8 DER for RSA, the raw 32-byte scalar for
   * X25519.
   */
  record Generated(String fingerprint, String registrationKey, byte[] privateKey) {}

  /** A set of generated recipients and, when they carry chains, the CA (DER) that issued them. */
  record Batch(List<Generated> recipients, byte[] anchorDer) {
    boolean chained() {
      return anchorDer != null;
    }
  }

  private static final BigInteger F4 = BigInteger.valueOf(65537);

  private Recipients() {}

  static Batch generate(String kind, int count, boolean withChain, SecureRandom random)
      throws GeneralSecurityException {
    Ca ca = withChain ? Ca.create(random) : null;
    KeyFactory rsaFactory = KeyFactory.getInstance("RSA");
    if (!kind.equals("x25519") && !kind.equals("rsa2048")) {
      throw new IllegalArgumentException("unknown recipient kind " + kind);
    }
    List<BigInteger> primes = kind.equals("rsa2048") ? primePool(count, random) : List.of();
    List<Generated> out =
        IntStream.range(0, count)
            .parallel()
            .mapToObj(
                i -> {
                  try {
                    byte[] spki;
                    byte[] priv;
                    if (kind.equals("x25519")) {
                      X25519PrivateKey k = X25519PrivateKey.generate(random);
                      spki = k.publicKey().toSpkiDer();
                      priv = k.toRaw();
                    } else {
                      KeyPair kp = pooledRsa2048(rsaFactory, primes, i);
                      spki = kp.getPublic().getEncoded();
                      priv = kp.getPrivate().getEncoded();
                    }
                    String fp = Fingerprints.ofSpki(spki);
                    String key = ca == null ? Base64Url.encode(spki) : ca.issuePem(spki, fp, i);
                    return new Generated(fp, key, priv);
                  } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
                    throw new IllegalStateException(
                        "cannot generate recipient " + i + ": " + e.getMessage(), e);
                  }
                })
            .toList();
    return new Batch(out, ca == null ? null : ca.cert.getEncoded());
  }

  /** k distinct 1024-bit primes p (top two bits set, gcd(65537, p-1) = 1) with k(k-1)/2 >= count. */
  static List<BigInteger> primePool(int count, SecureRandom random) {
    int k = 2;
    while ((long) k * (k - 1) / 2 < count) {
      k++;
    }
    return IntStream.range(0, k)
        .parallel()
        .mapToObj(
            i -> {
              while (true) {
                // top two bits set, so every product of two is 2048 bits; one prime search per
                // prime
                BigInteger p =
                    new BigInteger(1024, random).setBit(1023).setBit(1022).nextProbablePrime();
                if (p.bitLength() == 1024
                    && p.subtract(BigInteger.ONE).gcd(F4).equals(BigInteger.ONE)) {
                  return p;
                }
              }
            })
        .distinct()
        .toList();
  }

  /** The i-th key of the pool: the i-th pair (a, b), a < b, of its primes; see the class comment. */
  static KeyPair pooledRsa2048(KeyFactory rsa, List<BigInteger> primes, int index)
      throws GeneralSecurityException {
    int a = 0;
    int rest = index;
    while (rest >= primes.size() - 1 - a) {
      rest -= primes.size() - 1 - a;
      a++;
    }
    BigInteger p = primes.get(a);
    BigInteger q = primes.get(a + 1 + rest);
    BigInteger n = p.multiply(q);
    BigInteger p1 = p.subtract(BigInteger.ONE);
    BigInteger q1 = q.subtract(BigInteger.ONE);
    BigInteger d = F4.modInverse(p1.multiply(q1).divide(p1.gcd(q1)));
    PublicKey pub = rsa.generatePublic(new RSAPublicKeySpec(n, F4));
    java.security.PrivateKey priv =
        rsa.generatePrivate(
            new java.security.spec.RSAPrivateCrtKeySpec(
                n, F4, d, p, q, d.mod(p1), d.mod(q1), q.modInverse(p)));
    return new KeyPair(pub, priv);
  }

  /**
   * Cache file: first line {@code anchor <base64url DER>} or {@code anchor -}, then one line per
   * recipient: {@code <fingerprint> <base64url of the registration key> <base64url of the private
   * key>}.
   */
  static void write(Path file, Batch batch) throws IOException {
    List<String> lines = new ArrayList<>(batch.recipients().size() + 1);
    lines.add("anchor " + (batch.anchorDer() == null ? "-" : Base64Url.encode(batch.anchorDer())));
    for (Generated g : batch.recipients()) {
      lines.add(
          g.fingerprint()
              + " "
              + Base64Url.encode(g.registrationKey().getBytes(StandardCharsets.UTF_8))
              + " "
              + Base64Url.encode(g.privateKey()));
    }
    Files.write(file, lines, StandardCharsets.US_ASCII);
  }

  static Batch read(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
    if (lines.isEmpty() || !lines.getFirst().startsWith("anchor ")) {
      throw new IOException(file + ": not a recipients cache (first line must be 'anchor ...')");
    }
    String a = lines.getFirst().substring(7).trim();
    try {
      byte[] anchor = a.equals("-") ? null : Base64Url.decode("anchor", a, 64 * 1024);
      List<Generated> out = new ArrayList<>(lines.size() - 1);
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).trim().split(" ");
        if (f.length != 3 || !Fingerprints.isWellFormed(f[0])) {
          throw new IOException(
              file
                  + " line "
                  + (i + 1)
                  + ": expected '<fingerprint> <key>"
                  + " <private key>' (a cache from before proofs of possession: delete it)");
        }
        out.add(
            new Generated(
                f[0],
                new String(Base64Url.decode("key", f[1], 64 * 1024), StandardCharsets.UTF_8),
                Base64Url.decode("private key", f[2], 64 * 1024)));
      }
      return new Batch(out, anchor);
    } catch (dev.keycast.protocol.MalformedInputException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  /** A throw-away certificate authority for one batch. */
  private static final class Ca {
    final KeyPair keys;
    final X509Certificate cert;
    final X500Principal name;

    private Ca(KeyPair keys, X509Certificate cert) {
      this.keys = keys;
      this.cert = cert;
      this.name = cert.getSubjectX500Principal();
    }

    static Ca create(SecureRandom random) throws GeneralSecurityException {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, random);
      KeyPair kp = g.generateKeyPair();
      X500Principal name =
          new X500Principal("CN=Keycast load-test CA " + Long.toHexString(random.nextLong()));
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      try {
        X509v3CertificateBuilder b =
            new JcaX509v3CertificateBuilder(
                name,
                BigInteger.ONE,
                Date.from(now.minus(1, ChronoUnit.DAYS)),
                Date.from(now.plus(30, ChronoUnit.DAYS)),
                name,
                kp.getPublic());
        b.addExtension(
            org.bouncycastle.asn1.x509.Extension.basicConstraints,
            true,
            new org.bouncycastle.asn1.x509.BasicConstraints(true));
        b.addExtension(
            org.bouncycastle.asn1.x509.Extension.keyUsage,
            true,
            new org.bouncycastle.asn1.x509.KeyUsage(
                org.bouncycastle.asn1.x509.KeyUsage.keyCertSign));
        ContentSigner s = new JcaContentSignerBuilder("SHA256withRSA").build(kp.getPrivate());
        return new Ca(kp, new JcaX509CertificateConverter().getCertificate(b.build(s)));
      } catch (OperatorCreationException | IOException e) {
        throw new GeneralSecurityException("cannot create the test CA", e);
      }
    }

    String issuePem(byte[] spki, String fingerprint, int serial)
        throws GeneralSecurityException, OperatorCreationException, IOException {
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      X509v3CertificateBuilder b =
          new X509v3CertificateBuilder(
              org.bouncycastle.asn1.x500.X500Name.getInstance(name.getEncoded()),
              BigInteger.valueOf(serial + 2L),
              Date.from(now.minus(1, ChronoUnit.DAYS)),
              Date.from(now.plus(30, ChronoUnit.DAYS)),
              new org.bouncycastle.asn1.x500.X500Name("CN=load-" + fingerprint.substring(0, 16)),
              SubjectPublicKeyInfo.getInstance(spki));
      ContentSigner s = new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate());
      X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(b.build(s));
      return pem(leaf.getEncoded()) + pem(cert.getEncoded());
    }

    private static String pem(byte[] der) {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
          + "\n-----END CERTIFICATE-----\n";
    }
  }
}
