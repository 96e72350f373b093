package dev.keycast.enclave.server;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import dev.keycast.protocol.policy.ParsedCertificate;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Parses and checks one candidate recipient as the host attached it: {@code key} is base64url SPKI
 * DER of an RSA-2048/3072/4096 or X25519 key; {@code chain}, when present, is base64url DER X.509
 * certificates, leaf first, at most {@link RecipientKeys#MAX_CERTIFICATES}, whose leaf carries
 * exactly that key. Nothing here decides eligibility; it only says whether the key is usable.
 * Certificates are parsed once into {@link ParsedCertificate} (BouncyCastle's ASN.1 structures, no
 * JDK {@code CertificateFactory}: no key validation, no process-wide cache of parsed certificates).
 *
 * <p>Stateless and thread-safe.
 */
public final class RecipientValidator {
  /** Largest certificate accepted in a chain, in bytes. */
  public static final int MAX_CERTIFICATE_BYTES = 16 * 1024;

  /** A usable candidate: its key (with the chain for RSA CMS addressing) and its chain. */
  public record Parsed(RecipientKey key, List<ParsedCertificate> chain) {
    public Parsed {
      chain = List.copyOf(chain);
    }

    /** {@code rsa-2048}, {@code rsa-3072}, {@code rsa-4096} or {@code x25519}. */
    public String kind() {
      return switch (key) {
        case RsaRecipientKey r -> "rsa-" + r.bits();
        case X25519RecipientKey x -> "x25519";
      };
    }
  }

  /** The candidate cannot be used; the message says why (no secret material). */
  public static final class InvalidRecipientException extends Exception {
    InvalidRecipientException(String message) {
      super(message, null, false, false);
    }
  }

  /** Parses and checks a candidate. */
  public Parsed parse(EnclaveApi.Candidate candidate) throws InvalidRecipientException {
    return parse(candidate, null);
  }

  /** Most certificates above a leaf that {@link #parse(EnclaveApi.Candidate, Map)} keeps parsed. */
  static final int MAX_AUTHORITIES = 4096;

  /**
   * {@link #parse(EnclaveApi.Candidate)} that parses each certificate above a leaf once per
   * {@code authorities} (one send's: its candidates mostly share a few CAs; {@code null}: none).
   * A certificate is kept by its exact DER, and a parsed certificate is immutable, so the outcome is
   * the same as parsing it again; a leaf is always parsed.
   */
  Parsed parse(EnclaveApi.Candidate candidate, Map<ByteBuffer, ParsedCertificate> authorities)
      throws InvalidRecipientException {
    if (candidate == null) {
      throw new InvalidRecipientException("candidate is null");
    }
    if (candidate.chain().size() > RecipientKeys.MAX_CERTIFICATES) {
      throw new InvalidRecipientException(
          "chain has "
              + candidate.chain().size()
              + " certificates, limit "
              + RecipientKeys.MAX_CERTIFICATES);
    }
    RecipientKey key;
    try {
      byte[] spki = Base64Url.decode("key", candidate.key(), RecipientKeys.MAX_INPUT_LENGTH);
      key = RecipientKeys.fromSpki(spki);
    } catch (MalformedInputException e) {
      throw new InvalidRecipientException("key: " + e.getMessage());
    }
    if (candidate.chain().isEmpty()) {
      return new Parsed(key, List.of());
    }
    ParsedCertificate[] chain = new ParsedCertificate[candidate.chain().size()];
    for (int i = 0; i < chain.length; i++) {
      byte[] der;
      try {
        der = Base64Url.decode("chain[" + i + "]", candidate.chain().get(i), MAX_CERTIFICATE_BYTES);
      } catch (MalformedInputException e) {
        throw new InvalidRecipientException(e.getMessage());
      }
      try {
        chain[i] =
            i > 0 && authorities != null
                ? authority(der, authorities)
                : ParsedCertificate.parse(der);
      } catch (MalformedInputException | RuntimeException e) {
        throw new InvalidRecipientException("chain[" + i + "] is not a DER X.509 certificate");
      }
    }
    if (!chain[0].hasPublicKey(key.spkiDer()) && !sameKey(chain[0], key)) {
      throw new InvalidRecipientException("chain[0] (the leaf) does not carry the candidate's key");
    }
    if (key instanceof RsaRecipientKey rsa) {
      try {
        key = rsa.withLeaf(chain[0].asn1());
      } catch (MalformedInputException e) {
        throw new InvalidRecipientException("key: " + e.getMessage());
      }
    }
    return new Parsed(key, List.of(chain));
  }

  private static ParsedCertificate authority(
      byte[] der, Map<ByteBuffer, ParsedCertificate> authorities) throws MalformedInputException {
    ByteBuffer k = ByteBuffer.wrap(der);
    ParsedCertificate known = authorities.get(k);
    if (known != null) {
      return known;
    }
    ParsedCertificate c = ParsedCertificate.parse(der);
    if (authorities.size() < MAX_AUTHORITIES) {
      authorities.putIfAbsent(k, c);
    }
    return c;
  }

  /**
   * Whether the leaf's key, encoded otherwise than the candidate's (for example an RSA algorithm
   * identifier without its NULL parameters), is the same key: both re-encoded by the same parser.
   */
  private static boolean sameKey(ParsedCertificate leaf, RecipientKey key) {
    try {
      return RecipientKeys.fromSpki(leaf.publicKeyInfo()).fingerprint().equals(key.fingerprint());
    } catch (MalformedInputException e) {
      return false;
    }
  }

  /** The answer of {@code POST /v1/recipients/validate}, in request order. */
  public EnclaveApi.ValidateResponse validate(EnclaveApi.ValidateRequest request)
      throws EnclaveApiException {
    if (request.recipients() == null) {
      throw new EnclaveApiException(
          dev.keycast.protocol.api.ErrorCode.MALFORMED_REQUEST, "recipients is missing");
    }
    if (request.recipients().size() > SendService.MAX_CANDIDATES) {
      throw new EnclaveApiException(
          dev.keycast.protocol.api.ErrorCode.TOO_MANY_RECIPIENTS,
          request.recipients().size() + " recipients, limit " + SendService.MAX_CANDIDATES);
    }
    List<EnclaveApi.RecipientCheck> out = new ArrayList<>(request.recipients().size());
    for (EnclaveApi.Candidate c : request.recipients()) {
      try {
        Parsed p = parse(c);
        out.add(new EnclaveApi.RecipientCheck(p.key().fingerprint(), p.kind(), true, null));
      } catch (InvalidRecipientException e) {
        out.add(new EnclaveApi.RecipientCheck(null, null, false, e.getMessage()));
      }
    }
    return new EnclaveApi.ValidateResponse(out);
  }
}
