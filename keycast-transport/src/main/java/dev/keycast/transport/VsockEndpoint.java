package dev.keycast.transport;

/**
 * An AF_VSOCK stream address, {@code vsock://CID:PORT}.
 *
 * <p>Both numbers are unsigned 32-bit values held in an {@code int}; {@link #CID_ANY} ({@code -1},
 * i.e. {@code 0xFFFFFFFF}) is written {@code ANY}. Well-known CIDs: 0 hypervisor, 1 local, 2 host,
 * 3 the parent instance as seen from a Nitro Enclave. Port {@code 0xFFFFFFFF}
 * ({@link #PORT_ANY}) asks the kernel for any free port when binding.
 *
 * @param cid the context id, or {@link #CID_ANY}
 * @param port the port, an unsigned 32-bit value
 */
public record VsockEndpoint(int cid, int port) implements Endpoint {
  /** {@code VMADDR_CID_ANY}: bind on every CID of this machine. */
  public static final int CID_ANY = -1;

  /** {@code VMADDR_CID_LOCAL}: loopback (needs the vsock_loopback module). */
  public static final int CID_LOCAL = 1;

  /** {@code VMADDR_CID_HOST}. */
  public static final int CID_HOST = 2;

  /** The parent EC2 instance, as seen from inside a Nitro Enclave. */
  public static final int CID_NITRO_PARENT = 3;

  /** {@code VMADDR_PORT_ANY}: let the kernel choose a port when binding. */
  public static final int PORT_ANY = -1;

  /** Whether this is the wildcard CID. */
  public boolean isAnyCid() {
    return cid == CID_ANY;
  }

  @Override
  public String toString() {
    return "vsock://"
        + (cid == CID_ANY ? "ANY" : Integer.toUnsignedString(cid))
        + ":"
        + Integer.toUnsignedString(port);
  }
}
