package dev.keycast.protocol.cinema;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;

/**
 * What an ingested DKDM's sealed content keys are bound to (wire-format.md section 10.4): the
 * "policy bytes" of its {@link dev.keycast.protocol.keyset.SealedSecret}, whose SHA-256 is in the
 * sealed header and authenticated with the keys. Later bookings read the window, the CPL and the
 * signer from here, and the enclave opens the keys only with these exact bytes, so a host that
 * alters one field (say, widens the window) can no longer open them.
 *
 * <p>Encoded as the JSON object of this record's components in order, snake_case names ({@link
 * #encode}); the host stores the bytes as the enclave returned them and never re-encodes them.
 *
 * @param format {@link #FORMAT}
 * @param keySetId the key set whose storage key sealed the keys
 * @param secretId the sealed secret's id, {@code dkdm-<CPL uuid>}
 * @param messageId the DKDM's MessageId ({@code urn:uuid:...})
 * @param cplId the CompositionPlaylistId ({@code urn:uuid:...})
 * @param contentTitle the ContentTitleText
 * @param notValidBefore ContentKeysNotValidBefore as the DKDM spells it (25 characters)
 * @param notValidAfter ContentKeysNotValidAfter as the DKDM spells it: no KDM made from these keys
 *     may end later
 * @param signerThumbprint base64 SHA-1 of the DKDM signer leaf's TBSCertificate
 * @param studioRootThumbprint base64 thumbprint of the studio root the signer chain ends in
 * @param keyCount the number of content keys
 * @param dkdmSha256 base64url SHA-256 of the DKDM's exact bytes
 */
public record DkdmBinding(
    String format,
    String keySetId,
    String secretId,
    String messageId,
    String cplId,
    String contentTitle,
    String notValidBefore,
    String notValidAfter,
    String signerThumbprint,
    String studioRootThumbprint,
    int keyCount,
    String dkdmSha256) {
  /** The format name of this binding. */
  public static final String FORMAT = "keycast-dkdm-binding-v1";

  /** Longest encoded binding accepted by {@link #decode}. */
  public static final int MAX_ENCODED = 4096;

  /** The secret id of a DKDM's sealed keys for {@code cplId}. */
  public static String secretId(java.util.UUID cplId) {
    return "dkdm-" + cplId;
  }

  /** The binding of {@code ingested} for key set {@code keySetId}. */
  public static DkdmBinding of(String keySetId, DkdmIngest.Ingested ingested, byte[] dkdm)
      throws CinemaException {
    VerifiedKdm v = ingested.verified();
    java.util.List<java.security.cert.X509Certificate> chain = v.signerChain();
    return new DkdmBinding(
        FORMAT,
        keySetId,
        secretId(v.cplId()),
        "urn:uuid:" + v.messageId(),
        "urn:uuid:" + v.cplId(),
        v.contentTitle(),
        KdmTimestamps.format(v.notValidBefore()),
        KdmTimestamps.format(v.notValidAfter()),
        DcCertificates.thumbprintBase64(chain.get(0)),
        DcCertificates.thumbprintBase64(chain.get(chain.size() - 1)),
        ingested.contentKeys().keys().size(),
        Base64Url.encode(dev.keycast.protocol.crypto.Sha256.digest(dkdm)));
  }

  /** The exact bytes the keys are sealed with. */
  public byte[] encode() {
    return Json.encode(this);
  }

  /** Parses bytes from {@link #encode}; refuses another format. */
  public static DkdmBinding decode(byte[] bytes) throws MalformedInputException {
    DkdmBinding b = Json.decode(bytes, MAX_ENCODED, DkdmBinding.class);
    if (!FORMAT.equals(b.format())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "not a " + FORMAT + " binding");
    }
    return b;
  }
}
