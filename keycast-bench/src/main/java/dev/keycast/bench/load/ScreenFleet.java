package dev.keycast.bench.load;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DcCertificates;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.stream.IntStream;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERPrintableString;
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
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Cinema screens for load runs: one media-block manufacturer (an ST 430-2 root and intermediate
 * from {@link DcCertificateIssuer}) and N Security Manager leaves under its intermediate, spread
 * over cinemas of {@code perCinema} screens, each cinema with a UTC offset. Every chain passes
 * {@link DcCertificateChainValidator#validateScreen} before it is returned.
 *
 * <p>The leaf keys are RSA-2048 (e = 65537) from {@link Recipients#primePool a pool of primes}:
 * distinct moduli at a tiny fraction of the cost of N key generations, but with shared factors,
 * so they are for load tests only. The enclave's cost per KDM (two RSA-OAEP blocks per key, one
 * signature) is that of any RSA-2048 screen.
 */
final class ScreenFleet {
  /** First line of a cache file. */
  static final String MAGIC = "keycast-bench-screens 1";

  /** The offsets the cinemas cycle through (a KDM's times are written in its cinema's offset). */
  static final List<String> OFFSETS =
      List.of("+01:00", "-05:00", "+00:00", "+09:00", "+05:30", "-08:00", "+02:00");

  /** The manufacturer's organisation (O) and OU. */
  static final String ORGANIZATION = "Keycast Bench Media Blocks";

  static final String UNIT = "DC.KEYCASTBENCH.EXAMPLE";

  /** Largest certificate or key line read from a cache. */
  private static final int MAX_ITEM = 16 * 1024;

  /** One screen: its place, its chain (DER, leaf first, up to the root) and its PKCS#8 private key. */
  record Screen(
      String cinema, String screen, String utcOffset, List<byte[]> chainDer, byte[] leafPkcs8) {
    Screen {
      chainDer = List.copyOf(chainDer);
    }

    X509Certificate leaf() throws IOException {
      return certificate(chainDer.getFirst());
    }

    PrivateKey privateKey() throws GeneralSecurityException {
      return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(leafPkcs8));
    }
  }

  /** The screens and their manufacturer's root certificate (DER). */
  record Fleet(byte[] rootDer, List<Screen> screens) {
    Fleet {
      screens = List.copyOf(screens);
    }

    /** The first {@code n} screens. */
    Fleet first(int n) {
      return new Fleet(rootDer, screens.subList(0, n));
    }

    /** The number of distinct cinemas. */
    long cinemas() {
      return screens.stream().map(Screen::cinema).distinct().count();
    }
  }

  private ScreenFleet() {}

  /** The cinema of screen {@code index} (0-based) when cinemas have {@code perCinema} screens. */
  static String cinemaName(int index, int perCinema) {
    return String.format("Bench Cinema %05d", index / perCinema + 1);
  }

  /** The UTC offset of screen {@code index}'s cinema. */
  static String cinemaOffset(int index, int perCinema) {
    return OFFSETS.get((index / perCinema) % OFFSETS.size());
  }

  /** The screen's name in its cinema. */
  static String screenName(int index, int perCinema) {
    return String.format("Screen %03d", index % perCinema + 1);
  }

  /**
   * Generates {@code count} screens (all cores), their certificates valid from a day ago for
   * {@code years} years.
   */
  static Fleet generate(int count, int perCinema, int years, SecureRandom random)
      throws CinemaException, GeneralSecurityException {
    if (count < 1 || perCinema < 1) {
      throw new IllegalArgumentException("count and perCinema must be at least 1");
    }
    Instant start = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(1, ChronoUnit.DAYS);
    DcCertificateIssuer.IssuedChain maker =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                ORGANIZATION, UNIT, "ROOT.KEYCASTBENCH", "CA.KEYCASTBENCH", "SM", "MAKER-CHECK"),
            start,
            years,
            random);
    X509Certificate root = maker.rootCertificate();
    X509Certificate intermediate = maker.chain().get(1);
    KeyPair intermediateKeys = maker.intermediate();
    Instant end = root.getNotAfter().toInstant();
    List<BigInteger> primes = Recipients.primePool(count, random);
    List<Screen> screens =
        IntStream.range(0, count)
            .parallel()
            .mapToObj(
                i -> {
                  try {
                    KeyPair leafKeys =
                        Recipients.pooledRsa2048(KeyFactory.getInstance("RSA"), primes, i);
                    X509Certificate leaf =
                        leaf(
                            intermediate,
                            intermediateKeys,
                            leafKeys,
                            String.format("LE SPB MD FM SM.IMB-%06d.DC.KEYCASTBENCH", i + 1),
                            start,
                            end,
                            random);
                    List<X509Certificate> chain = List.of(leaf, intermediate, root);
                    DcCertificateChainValidator.validateScreen(chain, Instant.now());
                    List<byte[]> der = new ArrayList<>(3);
                    for (X509Certificate c : chain) {
                      der.add(c.getEncoded());
                    }
                    return new Screen(
                        cinemaName(i, perCinema),
                        screenName(i, perCinema),
                        cinemaOffset(i, perCinema),
                        der,
                        leafKeys.getPrivate().getEncoded());
                  } catch (GeneralSecurityException | CinemaException e) {
                    throw new IllegalStateException(
                        "cannot issue screen " + i + ": " + e.getMessage(), e);
                  }
                })
            .toList();
    return new Fleet(root.getEncoded(), screens);
  }

  private static X509Certificate leaf(
      X509Certificate issuer,
      KeyPair issuerKeys,
      KeyPair leafKeys,
      String cn,
      Instant notBefore,
      Instant notAfter,
      SecureRandom random)
      throws GeneralSecurityException {
    X500Name subject = printableName(ORGANIZATION, UNIT, cn, leafKeys.getPublic());
    try {
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
              new BigInteger(63, random).setBit(62),
              Date.from(notBefore),
              Date.from(notAfter),
              subject,
              leafKeys.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          ext.createSubjectKeyIdentifier(leafKeys.getPublic()));
      b.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          ext.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
      return new JcaX509CertificateConverter()
          .getCertificate(
              b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
    } catch (org.bouncycastle.operator.OperatorCreationException | IOException e) {
      throw new GeneralSecurityException("issuing a screen certificate failed", e);
    }
  }

  /** O, OU, CN and dnQualifier (the public key digest), every value a PrintableString (ST 430-2). */
  private static X500Name printableName(String o, String ou, String cn, PublicKey key) {
    BCStyle printable =
        new BCStyle() {
          @Override
          protected ASN1Encodable encodeStringValue(ASN1ObjectIdentifier oid, String value) {
            return new DERPrintableString(value, true);
          }
        };
    return new X500NameBuilder(printable)
        .addRDN(BCStyle.O, o)
        .addRDN(BCStyle.OU, ou)
        .addRDN(BCStyle.CN, cn)
        .addRDN(BCStyle.DN_QUALIFIER, DcCertificates.publicKeyDigest(key))
        .build();
  }

  /**
   * Cache file: {@value #MAGIC}, then {@code root <base64url DER>}, then one line per screen:
   * {@code <base64url cinema> <offset> <base64url screen> <leaf> <intermediate> <root> <pkcs8>}
   * (certificates and key in base64url DER). Holds private keys: written owner-only.
   */
  static void write(Path file, Fleet fleet) throws IOException {
    List<String> lines = new ArrayList<>(fleet.screens().size() + 2);
    lines.add(MAGIC);
    lines.add("root " + Base64Url.encode(fleet.rootDer()));
    for (Screen s : fleet.screens()) {
      StringBuilder b =
          new StringBuilder(6 * 1024)
              .append(Base64Url.encode(s.cinema().getBytes(StandardCharsets.UTF_8)))
              .append(' ')
              .append(s.utcOffset())
              .append(' ')
              .append(Base64Url.encode(s.screen().getBytes(StandardCharsets.UTF_8)));
      for (byte[] c : s.chainDer()) {
        b.append(' ').append(Base64Url.encode(c));
      }
      lines.add(b.append(' ').append(Base64Url.encode(s.leafPkcs8())).toString());
    }
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp =
        Files.createTempFile(
            parent,
            ".screens",
            ".tmp",
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    Files.write(tmp, lines, StandardCharsets.US_ASCII);
    Files.move(
        tmp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** Reads a cache {@link #write} wrote; a clear {@link IOException} for anything else. */
  static Fleet read(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
    if (lines.size() < 2 || !lines.get(0).equals(MAGIC) || !lines.get(1).startsWith("root ")) {
      throw new IOException(
          file + ": not a screen cache (expected '" + MAGIC + "' and a root line): delete it");
    }
    try {
      byte[] root = Base64Url.decode("root", lines.get(1).substring(5).strip(), MAX_ITEM);
      List<Screen> screens = new ArrayList<>(lines.size() - 2);
      for (int i = 2; i < lines.size(); i++) {
        String[] f = lines.get(i).strip().split(" ");
        if (f.length != 7 || !f[1].matches("[+-][0-9]{2}:[0-9]{2}")) {
          throw new IOException(
              file
                  + " line "
                  + (i + 1)
                  + ": expected '<cinema> <offset> <screen> <leaf> <intermediate> <root> <key>'");
        }
        List<byte[]> chain =
            List.of(
                Base64Url.decode("leaf", f[3], MAX_ITEM),
                Base64Url.decode("intermediate", f[4], MAX_ITEM),
                Base64Url.decode("root", f[5], MAX_ITEM));
        screens.add(
            new Screen(
                new String(Base64Url.decode("cinema", f[0], 1024), StandardCharsets.UTF_8),
                new String(Base64Url.decode("screen", f[2], 1024), StandardCharsets.UTF_8),
                f[1],
                chain,
                Base64Url.decode("key", f[6], MAX_ITEM)));
      }
      return new Fleet(root, screens);
    } catch (MalformedInputException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  /** Whether every certificate of the fleet is valid at {@code at} (a cache may have outlived them). */
  static boolean validAt(Fleet fleet, Instant at) throws IOException {
    X509Certificate root = certificate(fleet.rootDer());
    return !root.getNotAfter().toInstant().isBefore(at)
        && !root.getNotBefore().toInstant().isAfter(at)
        && (fleet.screens().isEmpty()
            || !fleet.screens().getFirst().leaf().getNotAfter().toInstant().isBefore(at));
  }

  static X509Certificate certificate(byte[] der) throws IOException {
    try {
      return (X509Certificate)
          CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException e) {
      throw new IOException("not an X.509 certificate: " + e.getMessage(), e);
    }
  }

  /** PEM text of DER certificates. */
  static String pem(List<byte[]> ders) {
    StringBuilder b = new StringBuilder();
    for (byte[] der : ders) {
      b.append("-----BEGIN CERTIFICATE-----\n")
          .append(java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der))
          .append("\n-----END CERTIFICATE-----\n");
    }
    return b.toString();
  }
}
