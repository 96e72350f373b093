package dev.keycast.protocol.cinema;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;

/**
 * Ingest of a distribution KDM (issue 25, wire-format.md section 10): a KDM a mastering house or
 * studio addressed to the enclave's certificate, verified and decrypted with the enclave's key.
 *
 * <p>The enclave's DKDM recipient certificate is its KDM signer leaf (the attested chain's first
 * certificate, whose private key lives only in the sealed key set). The checks, in order, each
 * failing closed with its own code:
 *
 * <ol>
 *   <li>size (at most {@link KdmReader#MAX_KDM_BYTES}), XML without DOCTYPE, the ST 430-1 structure
 *       ({@code dkdm_malformed});
 *   <li>the signature algorithms and references, and the signature itself ({@code
 *       dkdm_signature_invalid});
 *   <li>the KeyInfo chain ends in one of {@code studioRoots} and is an ST 430-2 signer chain
 *       ({@code dkdm_signer_untrusted});
 *   <li>the key window lies inside the signer chain's validity and starts before it ends ({@code
 *       dkdm_malformed});
 *   <li>the Recipient names the enclave's certificate: issuer name and serial number ({@code
 *       dkdm_wrong_recipient});
 *   <li>the window has not ended at {@code now} ({@code dkdm_window_past});
 *   <li>every block decrypts with the enclave's key to the 138-byte layout, naming the DKDM's
 *       signer, CPL, key ids and types in order, and its dates ({@code dkdm_block_malformed}, one
 *       message whatever the cause).
 * </ol>
 *
 * <p>Every refusal is a {@link CinemaException} whose message starts with the reader's check code
 * (for example {@code kdm_signature_invalid:}); never key material.
 */
public final class DkdmIngest {
  /** Most studio roots one ingest may trust. */
  public static final int MAX_STUDIO_ROOTS = 16;

  private static final Map<String, String> OPENSSL_KEYWORDS =
      Map.of("dnQualifier", "2.5.4.46", "DNQUALIFIER", "2.5.4.46");

  private static final String BLOCK_MESSAGE =
      "a DKDM block does not decrypt with this enclave's key to the"
          + " 138-byte block its KDM names (signer, CPL, key id and type, dates)";

  private DkdmIngest() {}

  /**
   * A verified DKDM and its content keys (the caller zeroizes them: {@link ContentKey#zeroize}).
   *
   * @param verified the DKDM's public fields and signer chain (blocks wiped)
   * @param contentKeys the CPL id, title and keys of the blocks, in KeyIdList order
   */
  public record Ingested(VerifiedKdm verified, ContentKeySet contentKeys) {}

  /**
   * Verifies {@code dkdm} as a DKDM addressed to {@code recipient}'s leaf certificate and signed
   * under one of {@code studioRoots}, and decrypts its keys with {@code recipient}'s leaf key.
   *
   * @throws CinemaException with code {@code dkdm_malformed}, {@code dkdm_signature_invalid},
   *     {@code dkdm_signer_untrusted}, {@code dkdm_wrong_recipient}, {@code dkdm_window_past} or
   *     {@code dkdm_block_malformed} (see the class comment)
   */
  public static Ingested ingest(
      byte[] dkdm, List<X509Certificate> studioRoots, KdmSigner recipient, Instant now)
      throws CinemaException {
    return ingest(dkdm, studioRoots, recipient.leaf(), recipient.privateKey(), now);
  }

  /** A certificate a DKDM may be addressed to, and how to get its private key when it is. */
  public record Recipient(X509Certificate certificate, KeySource key) {
    /** The enclave's own DKDM recipient certificate: its KDM signer leaf and key. */
    public static Recipient of(KdmSigner signer) {
      return new Recipient(signer.leaf(), signer::privateKey);
    }
  }

  /** Gives a recipient's private key (opened only for the recipient a DKDM names). */
  @FunctionalInterface
  public interface KeySource {
    java.security.PrivateKey open() throws CinemaException;
  }

  /**
   * Ingests {@code dkdm} addressed to one of {@code recipients} (the enclave's own certificate
   * first, then imported legacy ones, wire-format.md section 10.6): the DKDM is verified first
   * without decrypting, its {@code Recipient} picks the certificate (by serial number and issuer),
   * and only that recipient's key is opened. None matches: {@code dkdm_wrong_recipient}.
   */
  public static Ingested ingest(
      byte[] dkdm, List<X509Certificate> studioRoots, List<Recipient> recipients, Instant now)
      throws CinemaException {
    if (studioRoots == null || studioRoots.isEmpty() || studioRoots.size() > MAX_STUDIO_ROOTS) {
      throw new CinemaException(
          "dkdm_signer_untrusted",
          "kdm_signer_untrusted: an ingest trusts 1 to " + MAX_STUDIO_ROOTS + " studio roots");
    }
    VerifiedKdm peek;
    try {
      peek = KdmReader.read(dkdm, studioRoots, null, v -> {});
    } catch (CinemaException e) {
      throw translate(e);
    }
    for (Recipient r : recipients) {
      X509Certificate c = r.certificate();
      if (peek.recipientSerialNumber().equals(c.getSerialNumber())
          && sameName(peek.recipientIssuerName(), c.getIssuerX500Principal())) {
        return ingest(dkdm, studioRoots, c, r.key().open(), now);
      }
    }
    throw new CinemaException(
        "dkdm_wrong_recipient",
        "the DKDM is addressed to issuer "
            + peek.recipientIssuerName()
            + " serial "
            + peek.recipientSerialNumber()
            + ", neither to this enclave's certificate (keycast dkdm"
            + " certificate) nor to an imported legacy DKDM certificate");
  }

  /**
   * As {@link #ingest(byte[], List, KdmSigner, Instant)}, addressed to {@code recipient} and
   * decrypted with {@code recipientKey} (an imported legacy DKDM certificate and its key,
   * wire-format.md section 10.6).
   */
  public static Ingested ingest(
      byte[] dkdm,
      List<X509Certificate> studioRoots,
      X509Certificate recipient,
      java.security.PrivateKey recipientKey,
      Instant now)
      throws CinemaException {
    if (studioRoots == null || studioRoots.isEmpty() || studioRoots.size() > MAX_STUDIO_ROOTS) {
      throw new CinemaException(
          "dkdm_signer_untrusted",
          "kdm_signer_untrusted: an ingest trusts 1 to " + MAX_STUDIO_ROOTS + " studio roots");
    }
    X509Certificate me = recipient;
    VerifiedKdm v;
    try {
      v =
          KdmReader.read(
              dkdm,
              studioRoots,
              recipientKey,
              pre -> {
                if (!pre.recipientSerialNumber().equals(me.getSerialNumber())
                    || !sameName(pre.recipientIssuerName(), me.getIssuerX500Principal())) {
                  throw new CinemaException(
                      "dkdm_wrong_recipient",
                      "the DKDM is addressed to issuer "
                          + pre.recipientIssuerName()
                          + " serial "
                          + pre.recipientSerialNumber()
                          + ", not to this enclave's certificate (keycast dkdm certificate)");
                }
                if (!pre.notValidAfter().toInstant().isAfter(now)) {
                  throw new CinemaException(
                      "dkdm_window_past",
                      "the DKDM's key window ended at "
                          + pre.notValidAfter()
                          + ": ask the studio for a current DKDM");
                }
              });
    } catch (CinemaException e) {
      throw translate(e);
    }
    List<ContentKey> keys = new ArrayList<>();
    try {
      for (KdmCipherBlock b : v.blocks()) {
        byte[] k = b.contentKey();
        try {
          keys.add(ContentKey.of(b.keyId(), b.keyType(), k));
        } finally {
          java.util.Arrays.fill(k, (byte) 0);
        }
      }
      ContentKeySet set = ContentKeySet.of(v.cplId(), v.contentTitle(), keys);
      return new Ingested(v, set);
    } catch (CinemaException e) {
      keys.forEach(ContentKey::zeroize);
      throw new CinemaException("dkdm_malformed", e.code() + ": " + e.getMessage());
    } finally {
      v.blocks().forEach(KdmCipherBlock::wipe);
    }
  }

  private static boolean sameName(String rfc2253, X500Principal expected) {
    try {
      return new X500Principal(rfc2253, OPENSSL_KEYWORDS).equals(expected);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The reader's code as the DKDM refusal it is (wire-format.md section 10.3). */
  private static CinemaException translate(CinemaException e) {
    String c = e.code();
    if (c.startsWith("dkdm_")) {
      return e;
    }
    if (c.equals("kdm_decryption_failed") || c.equals("kdm_cipher_block_mismatch")) {
      // one code and one message whether OAEP decoding or the block's content failed: no
      // padding oracle for whoever can get a DKDM signed (wire-format.md 10.3 step 8)
      return new CinemaException("dkdm_block_malformed", BLOCK_MESSAGE);
    }
    String code =
        switch (c) {
          case "kdm_signature_invalid",
              "kdm_signature_algorithm",
              "kdm_signature_references",
              "kdm_signer_mismatch" ->
              "dkdm_signature_invalid";
          default ->
              c.startsWith("signer_certificate_") || c.equals("kdm_signer_untrusted")
                  ? "dkdm_signer_untrusted"
                  : "dkdm_malformed";
        };
    return new CinemaException(code, c + ": " + e.getMessage());
  }
}
