package dev.keycast.protocol.attestation;

import dev.keycast.protocol.cbor.CborWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test helper: mints attestation documents in the real Nitro format (untagged COSE_Sign1, ES384,
 * payload map in Nitro key order, cabundle [root, intermediate]) under a freshly generated P-384
 * root, intermediate and leaf. Trust {@link #trustRoot()} explicitly to verify them.
 */
public final class TestAttester {
  /** How the leaf certificate departs from the Nitro profile, for negative tests. */
  public enum LeafProfile {
    NITRO,
    CA_LEAF,
    /** A CA leaf with a path length constraint of 0 ({@code getBasicConstraints()} is 0). */
    CA_LEAF_PATH_LEN_0,
    NO_DIGITAL_SIGNATURE,
    /** A Nitro leaf under an intermediate that the root signed with SHA-256, not SHA-384. */
    INTERMEDIATE_SHA256_SIGNED,
    SHA256_SIGNED
  }

  private final KeyPair rootKey;
  private final KeyPair intermediateKey;
  private final KeyPair leafKey;
  private final X509Certificate root;
  private final X509Certificate intermediate;
  private final X509Certificate leaf;

  /** A chain valid from {@code notBefore} for {@code validity}, with a Nitro-profile leaf. */
  public TestAttester(Instant notBefore, Duration validity) {
    this(notBefore, validity, LeafProfile.NITRO, true);
  }

  public TestAttester(
      Instant notBefore, Duration validity, LeafProfile leafProfile, boolean caBcCritical) {
    this(notBefore, validity, validity, validity, leafProfile, caBcCritical);
  }

  /**
   * A chain whose root, intermediate and leaf are valid from {@code notBefore} for their own
   * durations (to expire one certificate while the others stay valid).
   */
  public TestAttester(
      Instant notBefore,
      Duration rootValidity,
      Duration intermediateValidity,
      Duration leafValidity,
      LeafProfile leafProfile,
      boolean caBcCritical) {
    try {
      rootKey = p384();
      intermediateKey = p384();
      leafKey = p384();
      X500Name rootName = new X500Name("CN=keycast-test-root,O=Keycast Test");
      X500Name intName = new X500Name("CN=keycast-test-intermediate,O=Keycast Test");
      X500Name leafName =
          new X500Name("CN=i-0123456789abcdef0-enc0123456789abcdef.test,O=Keycast Test");
      root =
          cert(
              rootName,
              rootName,
              rootKey.getPublic(),
              rootKey.getPrivate(),
              notBefore,
              notBefore.plus(rootValidity),
              true,
              true,
              KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature,
              "SHA384withECDSA");
      intermediate =
          cert(
              intName,
              rootName,
              intermediateKey.getPublic(),
              rootKey.getPrivate(),
              notBefore,
              notBefore.plus(intermediateValidity),
              true,
              caBcCritical,
              KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature,
              leafProfile == LeafProfile.INTERMEDIATE_SHA256_SIGNED
                  ? "SHA256withECDSA"
                  : "SHA384withECDSA");
      boolean leafCa =
          leafProfile == LeafProfile.CA_LEAF || leafProfile == LeafProfile.CA_LEAF_PATH_LEN_0;
      int leafPathLen = leafProfile == LeafProfile.CA_LEAF_PATH_LEN_0 ? 0 : -1;
      int leafKu =
          leafProfile == LeafProfile.NO_DIGITAL_SIGNATURE
              ? KeyUsage.keyEncipherment
              : KeyUsage.digitalSignature;
      String leafSig =
          leafProfile == LeafProfile.SHA256_SIGNED ? "SHA256withECDSA" : "SHA384withECDSA";
      leaf =
          cert(
              leafName,
              intName,
              leafKey.getPublic(),
              intermediateKey.getPrivate(),
              notBefore,
              notBefore.plus(leafValidity),
              leafCa,
              true,
              leafKu,
              leafSig,
              leafPathLen);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair p384() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"));
    return g.generateKeyPair();
  }

  private static X509Certificate cert(
      X500Name subject,
      X500Name issuer,
      PublicKey key,
      PrivateKey signer,
      Instant notBefore,
      Instant notAfter,
      boolean ca,
      boolean bcCritical,
      int keyUsage,
      String sigAlg)
      throws Exception {
    return cert(
        subject, issuer, key, signer, notBefore, notAfter, ca, bcCritical, keyUsage, sigAlg, -1);
  }

  private static X509Certificate cert(
      X500Name subject,
      X500Name issuer,
      PublicKey key,
      PrivateKey signer,
      Instant notBefore,
      Instant notAfter,
      boolean ca,
      boolean bcCritical,
      int keyUsage,
      String sigAlg,
      int pathLen)
      throws Exception {
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            issuer,
            new BigInteger(63, new java.security.SecureRandom()).add(BigInteger.ONE),
            Date.from(notBefore),
            Date.from(notAfter),
            subject,
            key);
    b.addExtension(
        Extension.basicConstraints,
        ca ? bcCritical : true,
        ca && pathLen >= 0 ? new BasicConstraints(pathLen) : new BasicConstraints(ca));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder(sigAlg).build(signer)));
  }

  public TrustRoot trustRoot() {
    return TrustRoot.of("keycast test root", root);
  }

  public X509Certificate root() {
    return root;
  }

  public X509Certificate intermediate() {
    return intermediate;
  }

  public X509Certificate leaf() {
    return leaf;
  }

  /** A builder of one document with Nitro-like defaults (production PCRs, null optionals). */
  public Doc doc(Instant timestamp) {
    return new Doc(timestamp);
  }

  /** 48 bytes filled with {@code b}. */
  public static byte[] pcrValue(int b) {
    byte[] v = new byte[48];
    java.util.Arrays.fill(v, (byte) b);
    return v;
  }

  /** One document under construction. Fields set to null are emitted as CBOR null. */
  public final class Doc {
    private final Map<String, Object> fields = new LinkedHashMap<>();
    private boolean indefinite;
    private boolean tagged;
    private byte[] protectedHeader = CoseSign1.es384ProtectedHeader();

    private Doc(Instant timestamp) {
      TreeMap<Integer, byte[]> pcrs = new TreeMap<>();
      for (int i = 0; i < 16; i++) {
        pcrs.put(i, i <= 4 || i == 8 ? pcrValue(0x10 + i) : new byte[48]);
      }
      try {
        fields.put("module_id", "i-0123456789abcdef0-enc0123456789abcdef");
        fields.put("digest", "SHA384");
        fields.put("timestamp", timestamp.toEpochMilli());
        fields.put("pcrs", pcrs);
        fields.put("certificate", leaf.getEncoded());
        fields.put("cabundle", new byte[][] {root.getEncoded(), intermediate.getEncoded()});
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      fields.put("public_key", null);
      fields.put("user_data", null);
      fields.put("nonce", null);
    }

    public Doc set(String key, Object value) {
      fields.put(key, value);
      return this;
    }

    public Doc remove(String key) {
      fields.remove(key);
      return this;
    }

    public Doc pcr(int index, byte[] value) {
      @SuppressWarnings("unchecked")
      TreeMap<Integer, byte[]> pcrs = new TreeMap<>((Map<Integer, byte[]>) fields.get("pcrs"));
      pcrs.put(index, value);
      fields.put("pcrs", pcrs);
      return this;
    }

    public Doc nonce(byte[] v) {
      return set("nonce", v);
    }

    public Doc userData(byte[] v) {
      return set("user_data", v);
    }

    public Doc publicKey(byte[] v) {
      return set("public_key", v);
    }

    public Doc indefiniteMap() {
      indefinite = true;
      return this;
    }

    public Doc tagged() {
      tagged = true;
      return this;
    }

    public Doc protectedHeader(byte[] h) {
      protectedHeader = h.clone();
      return this;
    }

    /** The payload CBOR. */
    @SuppressWarnings("unchecked")
    public byte[] payload() {
      CborWriter w = new CborWriter();
      if (indefinite) {
        w.rawByte(0xbf);
      } else {
        w.map(fields.size());
      }
      for (Map.Entry<String, Object> e : fields.entrySet()) {
        w.text(e.getKey());
        Object v = e.getValue();
        if (v == null) {
          w.nullValue();
        } else if (v instanceof String s) {
          w.text(s);
        } else if (v instanceof Long l) {
          w.uint64Fixed(l);
        } else if (v instanceof byte[] b) {
          w.bytes(b);
        } else if (v instanceof byte[][] arr) {
          w.array(arr.length);
          for (byte[] b : arr) {
            w.bytes(b);
          }
        } else if (v instanceof Map<?, ?> m) {
          w.map(m.size());
          for (Map.Entry<Integer, byte[]> p : ((Map<Integer, byte[]>) m).entrySet()) {
            w.integer(p.getKey()).bytes(p.getValue());
          }
        } else {
          throw new IllegalArgumentException("unsupported value for " + e.getKey());
        }
      }
      if (indefinite) {
        w.rawByte(0xff);
      }
      return w.toByteArray();
    }

    /** The signed COSE_Sign1 document. */
    public byte[] encode() {
      byte[] payload = payload();
      try {
        Signature s = Signature.getInstance("SHA384withECDSAinP1363Format");
        s.initSign(leafKey.getPrivate());
        s.update(CoseSign1.toBeSigned(protectedHeader, payload));
        byte[] cose =
            CoseSign1.encode(protectedHeader, new byte[] {(byte) 0xa0}, payload, s.sign());
        if (!tagged) {
          return cose;
        }
        byte[] out = new byte[cose.length + 1];
        out[0] = (byte) 0xd2;
        System.arraycopy(cose, 0, out, 1, cose.length);
        return out;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
