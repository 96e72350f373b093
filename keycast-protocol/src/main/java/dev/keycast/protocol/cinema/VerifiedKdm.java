package dev.keycast.protocol.cinema;

import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;

/**
 * A KDM whose signature and signer chain {@link KdmReader} verified, with its public fields and,
 * when a screen private key was given, its decrypted cipher blocks (in KeyIdList order).
 *
 * @param deviceList the base64 thumbprints of AuthorizedDeviceInfo/DeviceList
 * @param contentAuthenticator the ContentAuthenticator, or {@code null}
 * @param blocks the decrypted cipher blocks; empty when no screen key was given
 */
public record VerifiedKdm(
    UUID messageId,
    String annotationText,
    OffsetDateTime issueDate,
    String recipientIssuerName,
    BigInteger recipientSerialNumber,
    String recipientSubjectName,
    UUID cplId,
    String contentTitle,
    String contentAuthenticator,
    OffsetDateTime notValidBefore,
    OffsetDateTime notValidAfter,
    List<String> deviceList,
    List<TypedKeyId> keyIds,
    List<String> forensicMarkFlags,
    List<X509Certificate> signerChain,
    List<KdmCipherBlock> blocks) {
  /** One TypedKeyId of the KeyIdList. */
  public record TypedKeyId(KeyType type, UUID keyId) {}

  public VerifiedKdm {
    deviceList = List.copyOf(deviceList);
    keyIds = List.copyOf(keyIds);
    forensicMarkFlags = List.copyOf(forensicMarkFlags);
    signerChain = List.copyOf(signerChain);
    blocks = List.copyOf(blocks);
  }

  /** The formulation the device list and content authenticator imply. */
  public KdmFormulation formulation() {
    boolean assumeTrust = deviceList.equals(List.of(DcCertificates.ASSUME_TRUST_THUMBPRINT));
    if (contentAuthenticator == null) {
      return assumeTrust
          ? KdmFormulation.MODIFIED_TRANSITIONAL_1
          : KdmFormulation.MULTIPLE_MODIFIED_TRANSITIONAL_1;
    }
    return assumeTrust ? KdmFormulation.DCI_ANY : KdmFormulation.DCI_SPECIFIC;
  }
}
