package dev.keycast.enclave.attest;

/**
 * The Nitro Secure Module as a request/response pipe: one CBOR request in, one CBOR response out.
 *
 * <p>This is the only seam between Keycast and the hardware. {@link IoctlNsmDevice} talks to
 * {@code /dev/nsm}; tests substitute a fake that returns recorded answers. Implementations MUST
 * be safe for use by several threads (the real device serialises requests itself).
 */
public interface NsmDevice {
  /** The largest request the NSM driver accepts ({@code NSM_REQUEST_MAX_SIZE}). */
  int MAX_REQUEST_BYTES = 0x1000;

  /** The size of the response buffer handed to the driver ({@code NSM_RESPONSE_MAX_SIZE}). */
  int MAX_RESPONSE_BYTES = 0x3000;

  /**
   * Sends one CBOR-encoded request and returns the CBOR-encoded response.
   *
   * @throws NsmDeviceException if the device cannot be reached or the call fails at the OS level
   */
  byte[] call(byte[] cborRequest) throws NsmDeviceException;
}
