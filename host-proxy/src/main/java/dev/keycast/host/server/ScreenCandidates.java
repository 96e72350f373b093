package dev.keycast.host.server;

import dev.keycast.host.store.ScreenRecord;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * A stored screen as a KDM send's candidate (wire-format.md section 9.3): the leaf's public key,
 * the chain (base64url DER, leaf first), the cinema's UTC offset and the trusted devices. The host
 * decides nothing here: the enclave validates the chain and decides eligibility.
 */
final class ScreenCandidates {
  private ScreenCandidates() {}

  /** The candidate of {@code s} whose cinema has {@code utcOffset} (null: none, {@code +00:00}). */
  static EnclaveApi.Candidate of(ScreenRecord s, String utcOffset) {
    List<byte[]> chain = s.chain();
    List<String> b64 = new ArrayList<>(chain.size());
    for (byte[] der : chain) {
      b64.add(Base64Url.encode(der));
    }
    return new EnclaveApi.Candidate(
        Base64Url.encode(leaf(chain.get(0)).getPublicKey().getEncoded()),
        b64,
        utcOffset,
        s.trustedDevices());
  }

  /** The certificate of stored DER; {@link IllegalStateException} when the store holds garbage. */
  static X509Certificate leaf(byte[] der) {
    try {
      return (X509Certificate)
          CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException | ClassCastException e) {
      throw new IllegalStateException("a stored screen certificate does not parse");
    }
  }
}
