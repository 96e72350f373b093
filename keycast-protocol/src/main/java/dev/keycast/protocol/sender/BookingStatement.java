package dev.keycast.protocol.sender;

import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.keyset.KeySet;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;

/**
 * What a distributor signs to book KDMs (wire-format.md section 11.2): the exact bytes of a
 * {@link dev.keycast.protocol.booking.KdmBooking}. The signature input is
 *
 * <pre>
 *   "keycast/v1/kdm-booking" (22 ASCII bytes) || 0x00
 *   || u8 len(key_set_id) || key_set_id (ASCII)
 *   || SHA-256(booking bytes) (32)
 *   || u64 timestamp (Unix seconds, big-endian)
 *   || sender public key (32, raw Ed25519)
 * </pre>
 *
 * signed with Ed25519 (RFC 8032, pure), checked as a send statement is (-5 min..+1 min). The
 * booking's id, under which the host stores its KDMs as a send, is the first 16 bytes, hex, of
 * SHA-256({@code "keycast/v1/booking-id" || 0x00 ||} signature input): a retry of the same signed
 * booking has the same id, and the host answers it from its store.
 */
public record BookingStatement(
    String keySetId, byte[] bookingSha256, Instant timestamp, SenderKey sender)
    implements SenderStatement {
  static final byte[] LABEL = "keycast/v1/kdm-booking".getBytes(StandardCharsets.US_ASCII);
  static final byte[] ID_LABEL = "keycast/v1/booking-id".getBytes(StandardCharsets.US_ASCII);

  public BookingStatement {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key-set id must be ks- followed by 32 lowercase hex");
    }
    if (bookingSha256 == null || bookingSha256.length != 32) {
      throw new IllegalArgumentException("the booking digest must be 32 bytes");
    }
    Objects.requireNonNull(timestamp, "timestamp");
    if (timestamp.getEpochSecond() < 0 || timestamp.getNano() != 0) {
      throw new IllegalArgumentException("timestamp must be whole seconds after 1970");
    }
    Objects.requireNonNull(sender, "sender");
    bookingSha256 = bookingSha256.clone();
  }

  /** The statement over {@code booking} (its exact bytes). */
  public static BookingStatement of(
      String keySetId, byte[] booking, Instant timestamp, SenderKey sender) {
    return new BookingStatement(keySetId, Sha256.digest(booking), timestamp, sender);
  }

  @Override
  public byte[] signingInput() {
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(LABEL.length + 1 + 1 + id.length + 32 + 8 + 32)
        .put(LABEL)
        .put((byte) 0)
        .put((byte) id.length)
        .put(id)
        .put(bookingSha256)
        .putLong(timestamp.getEpochSecond())
        .put(sender.raw())
        .array();
  }

  /** The booking's id: 32 lowercase hex characters (see the class comment). */
  public String bookingId() {
    byte[] d = Sha256.digest(ID_LABEL, new byte[] {0}, signingInput());
    return HexFormat.of().formatHex(d, 0, 16);
  }

  @Override
  public byte[] bookingSha256() {
    return bookingSha256.clone();
  }
}
