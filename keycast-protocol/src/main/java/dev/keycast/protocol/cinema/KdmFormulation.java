package dev.keycast.protocol.cinema;

/**
 * The ISDCF Doc5 KDM formulations Keycast issues: what the {@code AuthorizedDeviceInfo/DeviceList}
 * holds and whether a {@code ContentAuthenticator} is present.
 */
public enum KdmFormulation {
  /** No ContentAuthenticator; DeviceList = the "assume trust" thumbprint. The default. */
  MODIFIED_TRANSITIONAL_1("modified-transitional-1", false, false),
  /** No ContentAuthenticator; DeviceList = the trusted devices' thumbprints (one or more). */
  MULTIPLE_MODIFIED_TRANSITIONAL_1("multiple-modified-transitional-1", false, true),
  /** ContentAuthenticator present; DeviceList = the "assume trust" thumbprint. */
  DCI_ANY("dci-any", true, false),
  /** ContentAuthenticator present; DeviceList = the trusted devices' thumbprints (one or more). */
  DCI_SPECIFIC("dci-specific", true, true);

  private final String wireName;
  private final boolean contentAuthenticator;
  private final boolean trustedDevices;

  KdmFormulation(String wireName, boolean contentAuthenticator, boolean trustedDevices) {
    this.wireName = wireName;
    this.contentAuthenticator = contentAuthenticator;
    this.trustedDevices = trustedDevices;
  }

  /** The name used in APIs and the CLI, e.g. {@code modified-transitional-1}. */
  public String wireName() {
    return wireName;
  }

  public boolean needsContentAuthenticator() {
    return contentAuthenticator;
  }

  public boolean needsTrustedDevices() {
    return trustedDevices;
  }

  /** The formulation with that wire name, or a refusal. */
  public static KdmFormulation parse(String wireName) throws CinemaException {
    for (KdmFormulation f : values()) {
      if (f.wireName.equals(wireName)) {
        return f;
      }
    }
    throw new CinemaException(
        "kdm_formulation",
        "formulation must be modified-transitional-1, multiple-modified-transitional-1, dci-any or dci-specific");
  }
}
