package dev.keycast.protocol.cinema;

/**
 * What names a KDM delivery outside the XML (wire-format.md section 9): the delivery format id the
 * enclave gives every KDM it issues. The envelope of such a delivery is the KDM document itself
 * (UTF-8 XML), so the receipt's envelope digest is the SHA-256 of the KDM file a cinema receives.
 */
public final class KdmDeliveries {
  /** The {@code format} of a KDM delivery. */
  public static final String FORMAT_ID = "smpte-kdm-v1";

  private KdmDeliveries() {}
}
