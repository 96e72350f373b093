package dev.keycast.protocol.cinema;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test support: screen certificate chains as media-block manufacturers issue them (root,
 * intermediate, Security Manager leaf), with knobs that break one ST 430-2 rule at a time.
 */
public final class TestScreens {
  private TestScreens() {}

  /** What the screen leaf (and its intermediate) look like; {@link #valid} follows ST 430-2. */
  public record Spec(
      String leafCommonName,
      int leafBits,
      BigInteger leafExponent,
      boolean utf8Names,
      boolean wrongDnQualifier,
      String leafSignatureAlgorithm,
      Instant leafNotBefore,
      Instant leafNotAfter,
      boolean intermediateIsCa,
      boolean leafKeyEncipherment) {
    public static Spec valid(Instant notBefore, Instant notAfter) {
      return new Spec(
          "LE SPB MD FM SM.IMB-000001.DC.TESTMAKER.SMPTE",
          2048,
          RSAKeyGenParameterSpec.F4,
          false,
          false,
          "SHA256withRSA",
          notBefore,
          notAfter,
          true,
          true);
    }

    public Spec withCommonName(String cn) {
      return new Spec(
          cn,
          leafBits,
          leafExponent,
          utf8Names,
          wrongDnQualifier,
          leafSignatureAlgorithm,
          leafNotBefore,
          leafNotAfter,
          intermediateIsCa,
          leafKeyEncipherment);
    }

    public Spec withKey(int bits, BigInteger exponent) {
      return new Spec(
          leafCommonName,
          bits,
          exponent,
          utf8Names,
          wrongDnQualifier,
          leafSignatureAlgorithm,
          leafNotBefore,
          leafNotAfter,
          intermediateIsCa,
          leafKeyEncipherment);
    }

    public Spec withUtf8Names() {
      return new Spec(
          leafCommonName,
          leafBits,
          leafExponent,
          true,
          wrongDnQualifier,
          leafSignatureAlgorithm,
          leafNotBefore,
          leafNotAfter,
          intermediateIsCa,
          leafKeyEncipherment);
    }

    public Spec withWrongDnQualifier() {
      return new Spec(
          leafCommonName,
          leafBits,
          leafExponent,
          utf8Names,
          true,
          leafSignatureAlgorithm,
          leafNotBefore,
          leafNotAfter,
          intermediateIsCa,
          leafKeyEncipherment);
    }

    public Spec withSignatureAlgorithm(String alg) {
      return new Spec(
          leafCommonName,
          leafBits,
          leafExponent,
          utf8Names,
          wrongDnQualifier,
          alg,
          leafNotBefore,
          leafNotAfter,
          intermediateIsCa,
          leafKeyEncipherment);
    }

    public Spec withValidity(Instant notBefore, Instant notAfter) {
      return new Spec(
          leafCommonName,
          leafBits,
          leafExponent,
          utf8Names,
          wrongDnQualifier,
          leafSignatureAlgorithm,
          notBefore,
          notAfter,
          intermediateIsCa,
          leafKeyEncipherment);
    }

    public Spec withIntermediateNotCa() {
      return new Spec(
          leafCommonName,
          leafBits,
          leafExponent,
          utf8Names,
          wrongDnQualifier,
          leafSignatureAlgorithm,
          leafNotBefore,
          leafNotAfter,
          false,
          leafKeyEncipherment);
    }
  }

  /** A manufacturer's CA pair: root and intermediate, valid over {@code [notBefore, notAfter]}. */
  public record Manufacturer(
      String organization,
      KeyPair rootKey,
      X509Certificate root,
      KeyPair intermediateKey,
      X509Certificate intermediate) {}

  /** A screen: its chain (leaf first) and the Security Manager's private key. */
  public record Screen(List<X509Certificate> chain, PrivateKey privateKey) {
    public X509Certificate leaf() {
      return chain.get(0);
    }
  }

  public static Manufacturer manufacturer(
      String organization,
      Instant notBefore,
      Instant notAfter,
      boolean intermediateIsCa,
      SecureRandom random) {
    KeyPair rk = rsa(2048, RSAKeyGenParameterSpec.F4, random);
    KeyPair ik = rsa(2048, RSAKeyGenParameterSpec.F4, random);
    X500Name rootName =
        name(organization, "DC.TESTMAKER.COM", ".ROOT.TESTMAKER", rk.getPublic(), false, false);
    X500Name interName =
        name(organization, "DC.TESTMAKER.COM", ".CA.TESTMAKER", ik.getPublic(), false, false);
    int caUsage = KeyUsage.keyCertSign | KeyUsage.cRLSign;
    X509Certificate root =
        cert(
            rootName,
            rk.getPublic(),
            rootName,
            rk,
            new BasicConstraints(1),
            caUsage,
            notBefore,
            notAfter,
            "SHA256withRSA",
            random);
    X509Certificate inter =
        cert(
            interName,
            ik.getPublic(),
            rootName,
            rk,
            intermediateIsCa ? new BasicConstraints(0) : new BasicConstraints(false),
            caUsage,
            notBefore,
            notAfter,
            "SHA256withRSA",
            random);
    return new Manufacturer(organization, rk, root, ik, inter);
  }

  public static Screen screen(Manufacturer m, Spec spec, SecureRandom random) {
    KeyPair lk = rsa(spec.leafBits(), spec.leafExponent(), random);
    X500Name interName =
        X500Name.getInstance(m.intermediate().getSubjectX500Principal().getEncoded());
    X500Name leafName =
        name(
            m.organization(),
            "DC.TESTMAKER.COM",
            spec.leafCommonName(),
            lk.getPublic(),
            spec.utf8Names(),
            spec.wrongDnQualifier());
    int usage =
        KeyUsage.digitalSignature | (spec.leafKeyEncipherment() ? KeyUsage.keyEncipherment : 0);
    X509Certificate leaf =
        cert(
            leafName,
            lk.getPublic(),
            interName,
            m.intermediateKey(),
            new BasicConstraints(false),
            usage,
            spec.leafNotBefore(),
            spec.leafNotAfter(),
            spec.leafSignatureAlgorithm(),
            random);
    return new Screen(List.of(leaf, m.intermediate(), m.root()), lk.getPrivate());
  }

  static KeyPair rsa(int bits, BigInteger e, SecureRandom random) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(new RSAKeyGenParameterSpec(bits, e), random);
      return g.generateKeyPair();
    } catch (GeneralSecurityException ex) {
      throw new IllegalStateException(ex);
    }
  }

  private static X500Name name(
      String o, String ou, String cn, PublicKey key, boolean utf8, boolean wrongDnq) {
    String dnq = wrongDnq ? "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" : DcCertificates.publicKeyDigest(key);
    BCStyle style =
        new BCStyle() {
          @Override
          protected ASN1Encodable encodeStringValue(ASN1ObjectIdentifier oid, String value) {
            return utf8 && !oid.equals(BCStyle.DN_QUALIFIER)
                ? new DERUTF8String(value)
                : new DERPrintableString(value);
          }
        };
    return new X500NameBuilder(style)
        .addRDN(BCStyle.O, o)
        .addRDN(BCStyle.OU, ou)
        .addRDN(BCStyle.CN, cn)
        .addRDN(BCStyle.DN_QUALIFIER, dnq)
        .build();
  }

  private static X509Certificate cert(
      X500Name subject,
      PublicKey key,
      X500Name issuer,
      KeyPair issuerKey,
      BasicConstraints bc,
      int usage,
      Instant nb,
      Instant na,
      String alg,
      SecureRandom random) {
    try {
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              issuer,
              new BigInteger(63, random).setBit(62),
              Date.from(nb),
              Date.from(na),
              subject,
              key);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, bc);
      b.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
      b.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          ext.createAuthorityKeyIdentifier(issuerKey.getPublic()));
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder(alg).build(issuerKey.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Certificates (and optionally a key) as PEM text. */
  public static String pem(List<X509Certificate> certs, PrivateKey key) {
    StringWriter s = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(s)) {
      for (X509Certificate c : certs) {
        w.writeObject(c);
      }
      if (key != null) {
        w.writeObject(key);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return s.toString();
  }

  /** Every certificate of a PEM text, in order. */
  public static List<X509Certificate> certificates(String pem) {
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<X509Certificate> out = new ArrayList<>();
      for (var c :
          cf.generateCertificates(
              new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        out.add((X509Certificate) c);
      }
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The first private key of a PEM text. */
  public static PrivateKey privateKey(String pem) {
    try (PEMParser p = new PEMParser(new java.io.StringReader(pem))) {
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        if (o instanceof PEMKeyPair kp) {
          return new JcaPEMKeyConverter().getPrivateKey(kp.getPrivateKeyInfo());
        }
        if (o instanceof PrivateKeyInfo pki) {
          return new JcaPEMKeyConverter().getPrivateKey(pki);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    throw new IllegalStateException("no private key in the PEM text");
  }
}
