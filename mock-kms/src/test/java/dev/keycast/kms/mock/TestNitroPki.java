package dev.keycast.kms.mock;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.TreeMap;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test-only Nitro PKI: a P-384 root, intermediate and leaf, and a minter of NSM-format attestation
 * documents (untagged COSE_Sign1, protected {1:-35}, payload map in the real key order,
 * cabundle [root, intermediate], 96-byte raw r||s ES384 signature).
 */
final class TestNitroPki {
  final X509Certificate root;
  private final X509Certificate intermediate;
  private final X509Certificate leaf;
  private final PrivateKey leafKey;
  private static final SecureRandom RANDOM = new SecureRandom();

  private TestNitroPki(
      X509Certificate root,
      X509Certificate intermediate,
      X509Certificate leaf,
      PrivateKey leafKey) {
    this.root = root;
    this.intermediate = intermediate;
    this.leaf = leaf;
    this.leafKey = leafKey;
  }

  static TestNitroPki create(String name) throws Exception {
    KeyPair rootKp = p384();
    KeyPair intKp = p384();
    KeyPair leafKp = p384();
    X509Certificate root =
        cert(
            "CN=" + name + " root",
            rootKp.getPublic(),
            "CN=" + name + " root",
            rootKp.getPrivate(),
            true,
            2);
    X509Certificate inter =
        cert(
            "CN=" + name + " intermediate",
            intKp.getPublic(),
            "CN=" + name + " root",
            rootKp.getPrivate(),
            true,
            0);
    X509Certificate leaf =
        cert(
            "CN=" + name + " leaf",
            leafKp.getPublic(),
            "CN=" + name + " intermediate",
            intKp.getPrivate(),
            false,
            -1);
    return new TestNitroPki(root, inter, leaf, leafKp.getPrivate());
  }

  private static KeyPair p384() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static X509Certificate cert(
      String subject, PublicKey key, String issuer, PrivateKey issuerKey, boolean ca, int pathLen)
      throws Exception {
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            new X500Name(issuer),
            BigInteger.valueOf(RANDOM.nextLong() & Long.MAX_VALUE).add(BigInteger.ONE),
            Date.from(now.minus(Duration.ofMinutes(10))),
            Date.from(now.plus(Duration.ofHours(3))),
            new X500Name(subject),
            key);
    if (ca) {
      b.addExtension(
          Extension.basicConstraints,
          true,
          pathLen >= 0 && !subject.endsWith("root")
              ? new BasicConstraints(pathLen)
              : new BasicConstraints(true));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
    } else {
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, false, new KeyUsage(KeyUsage.digitalSignature));
    }
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA384withECDSA").build(issuerKey)));
  }

  /** Sixteen 48-byte PCRs; the given ones overridden, the rest zero. */
  static Map<Integer, byte[]> pcrs(Map<Integer, byte[]> overrides) {
    Map<Integer, byte[]> m = new TreeMap<>();
    for (int i = 0; i < 16; i++) {
      m.put(i, new byte[48]);
    }
    m.putAll(overrides);
    return m;
  }

  /** An attestation document carrying {@code pcrs} and {@code publicKeySpki}. */
  byte[] mint(Map<Integer, byte[]> pcrs, byte[] publicKeySpki) throws Exception {
    Cbor p = new Cbor();
    p.map(9);
    p.text("module_id").text("i-0123456789abcdef0-enc0123456789abcdef");
    p.text("digest").text("SHA384");
    p.text("timestamp").uint64(System.currentTimeMillis());
    p.text("pcrs").map(pcrs.size());
    for (var e : new TreeMap<>(pcrs).entrySet()) {
      p.uint(e.getKey()).bytes(e.getValue());
    }
    p.text("certificate").bytes(leaf.getEncoded());
    p.text("cabundle").array(2).bytes(root.getEncoded()).bytes(intermediate.getEncoded());
    p.text("public_key").bytes(publicKeySpki);
    p.text("user_data").nul();
    p.text("nonce").nul();
    byte[] payload = p.toBytes();
    byte[] protectedHeader = {(byte) 0xa1, 0x01, 0x38, 0x22};
    Signature s = Signature.getInstance("SHA384withECDSAinP1363Format");
    s.initSign(leafKey);
    s.update(
        new Cbor()
            .array(4)
            .text("Signature1")
            .bytes(protectedHeader)
            .bytes(new byte[0])
            .bytes(payload)
            .toBytes());
    byte[] sig = s.sign();
    Cbor cose = new Cbor();
    cose.array(4).bytes(protectedHeader);
    cose.map(0);
    cose.bytes(payload).bytes(sig);
    return cose.toBytes();
  }

  /** Minimal CBOR writer (definite lengths). */
  static final class Cbor {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Cbor head(int major, long v) {
      int mt = major << 5;
      if (v < 24) {
        out.write(mt | (int) v);
      } else if (v < 0x100) {
        out.write(mt | 24);
        out.write((int) v);
      } else if (v < 0x10000) {
        out.write(mt | 25);
        out.write((int) (v >> 8));
        out.write((int) v);
      } else if (v < 0x100000000L) {
        out.write(mt | 26);
        for (int s = 24; s >= 0; s -= 8) {
          out.write((int) (v >> s));
        }
      } else {
        out.write(mt | 27);
        for (int s = 56; s >= 0; s -= 8) {
          out.write((int) (v >> s));
        }
      }
      return this;
    }

    Cbor uint(long v) {
      return head(0, v);
    }

    Cbor uint64(long v) {
      out.write(0x1b);
      for (int s = 56; s >= 0; s -= 8) {
        out.write((int) (v >> s));
      }
      return this;
    }

    Cbor bytes(byte[] b) {
      head(2, b.length);
      out.writeBytes(b);
      return this;
    }

    Cbor text(String t) {
      byte[] b = t.getBytes(StandardCharsets.UTF_8);
      head(3, b.length);
      out.writeBytes(b);
      return this;
    }

    Cbor array(int n) {
      return head(4, n);
    }

    Cbor map(int n) {
      return head(5, n);
    }

    Cbor nul() {
      out.write(0xf6);
      return this;
    }

    byte[] toBytes() {
      return out.toByteArray();
    }
  }
}
