package dev.keycast.kms.mock;

import dev.keycast.protocol.attestation.AttestationException;
import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.ValidationTime;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.attestation.VerifiedAttestation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The mock KMS's Recipient check, a thin adapter over Keycast's attestation verifier ({@link
 * AttestationVerifier}, wire-format.md section 6): COSE_Sign1 ES384, the Nitro certificate profile,
 * chain to one of the configured trust roots (pinned by SHA-256), validity now, and a document at
 * most {@code maxAge} old. Like KMS it sets no PCR expectation (the key policy checks PCRs) and
 * accepts debug-mode documents (their zero PCRs fail any PCR condition). On top of the protocol
 * verifier it requires {@code public_key} to be an RSA SubjectPublicKeyInfo of at least 2048 bits.
 */
public final class ProtocolRecipientVerifier implements RecipientAttestationVerifier {
  /** How old a Recipient document may be. */
  public static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(5);

  private static final int MIN_RSA_BITS = 2048;
  private static final int MAX_PEM_BYTES = 256 * 1024;

  private final AttestationVerifier verifier;

  /** Trusts {@code roots}; validates at {@code clock} with documents at most {@code maxAge} old. */
  public ProtocolRecipientVerifier(List<TrustRoot> roots, Duration maxAge, Clock clock) {
    Objects.requireNonNull(clock, "clock");
    if (roots.isEmpty()) {
      throw new IllegalArgumentException("at least one trust root is required");
    }
    this.verifier =
        AttestationVerifier.create(
            VerificationPolicy.builder()
                .trustRoots(roots)
                .validationTime(ValidationTime.now(maxAge))
                .allowDebug(true)
                .build(),
            clock);
  }

  /** Trusts every certificate of the given PEM files (the AWS Nitro root and/or a mock root). */
  public static ProtocolRecipientVerifier trusting(List<Path> pemFiles, Clock clock)
      throws IOException, GeneralSecurityException {
    List<TrustRoot> roots = new ArrayList<>();
    for (X509Certificate c : readPemCertificates(pemFiles)) {
      roots.add(TrustRoot.of(c.getSubjectX500Principal().getName(), c));
    }
    return new ProtocolRecipientVerifier(roots, DEFAULT_MAX_AGE, clock);
  }

  /** Reads PEM certificate files (each may hold several certificates). */
  public static List<X509Certificate> readPemCertificates(List<Path> files)
      throws IOException, GeneralSecurityException {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<X509Certificate> out = new ArrayList<>();
    for (Path f : files) {
      if (Files.size(f) > MAX_PEM_BYTES) {
        throw new IOException(
            f + " is larger than " + MAX_PEM_BYTES + " bytes: not a trust root file");
      }
      try (InputStream in = Files.newInputStream(f)) {
        for (var c : cf.generateCertificates(in)) {
          out.add((X509Certificate) c);
        }
      }
    }
    if (out.isEmpty()) {
      throw new IOException("no certificate in " + files);
    }
    return out;
  }

  @Override
  public VerifiedRecipient verify(byte[] document) throws RecipientVerificationException {
    if (document == null || document.length == 0) {
      throw new RecipientVerificationException("attestation document is empty");
    }
    if (document.length > MAX_DOCUMENT_BYTES) {
      throw new RecipientVerificationException(
          "attestation document is " + document.length + " bytes, limit " + MAX_DOCUMENT_BYTES);
    }
    VerifiedAttestation ok;
    try {
      ok = verifier.verify(document);
    } catch (AttestationException e) {
      throw new RecipientVerificationException(e.reason() + ": " + e.getMessage(), e);
    }
    byte[] spki =
        ok.document()
            .publicKey()
            .orElseThrow(
                () -> new RecipientVerificationException("attestation document has no public_key"));
    try {
      PublicKey key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(spki));
      if (!(key instanceof RSAPublicKey rsa) || rsa.getModulus().bitLength() < MIN_RSA_BITS) {
        throw new RecipientVerificationException(
            "public_key must be an RSA key of " + MIN_RSA_BITS + " bits or more");
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new RecipientVerificationException("public_key is not an RSA SubjectPublicKeyInfo", e);
    }
    return new VerifiedRecipient(ok.document().pcrs(), spki);
  }
}
