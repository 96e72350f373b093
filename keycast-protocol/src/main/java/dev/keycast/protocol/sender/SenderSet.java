package dev.keycast.protocol.sender;

import dev.keycast.protocol.MalformedInputException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Who may send through a key set (wire-format.md section 8.1): the owners (who sign changes) and
 * the senders (who sign sends), each an Ed25519 key, with a version that only grows.
 *
 * <p>Canonical encoding (one encoding per value; integers big-endian):
 *
 * <pre>
 *   "keycast/v1/sender-set" (21 ASCII bytes) || 0x00 || u64 version (1 .. 2^63-1)
 *   || u8 n_owners (1..16)   || owner keys  (32 bytes each, strictly ascending bytewise)
 *   || u16 n_senders (0..1024) || sender keys (32 bytes each, strictly ascending bytewise)
 * </pre>
 *
 * {@link #digest()} is SHA-256 of the encoding.
 */
public record SenderSet(long version, List<SenderKey> owners, List<SenderKey> senders) {
  public static final int MAX_OWNERS = 16;
  public static final int MAX_SENDERS = 1024;
  static final byte[] LABEL = "keycast/v1/sender-set".getBytes(StandardCharsets.US_ASCII);

  /** Longest encoding {@link #parse} accepts. */
  public static final int MAX_ENCODED =
      LABEL.length + 1 + 8 + 1 + MAX_OWNERS * 32 + 2 + MAX_SENDERS * 32;

  /** Sorts the keys; refuses duplicates, empty owners, too many keys, version < 1. */
  public SenderSet {
    if (version < 1) {
      throw new IllegalArgumentException("sender-set version must be at least 1, got " + version);
    }
    owners = sorted("owners", owners, 1, MAX_OWNERS);
    senders = sorted("senders", senders, 0, MAX_SENDERS);
  }

  private static List<SenderKey> sorted(String name, List<SenderKey> keys, int min, int max) {
    Objects.requireNonNull(keys, name);
    if (keys.size() < min || keys.size() > max) {
      throw new IllegalArgumentException(
          name + " must have " + min + ".." + max + " keys, got " + keys.size());
    }
    List<SenderKey> out = new ArrayList<>(keys);
    out.sort(null);
    for (int i = 1; i < out.size(); i++) {
      if (out.get(i).equals(out.get(i - 1))) {
        throw new IllegalArgumentException(name + " lists " + out.get(i).fingerprint() + " twice");
      }
    }
    return List.copyOf(out);
  }

  /** True when {@code key} may send. */
  public boolean allowsSender(SenderKey key) {
    return senders.contains(key);
  }

  /** True when {@code key} may sign changes. */
  public boolean hasOwner(SenderKey key) {
    return owners.contains(key);
  }

  /** This set with {@code key} added as a sender and the version one higher. */
  public SenderSet withSender(SenderKey key) {
    if (senders.contains(key)) {
      throw new IllegalArgumentException("sender " + key.fingerprint() + " is already in the set");
    }
    List<SenderKey> s = new ArrayList<>(senders);
    s.add(key);
    return new SenderSet(Math.addExact(version, 1), owners, s);
  }

  /** This set without the sender {@code key} and the version one higher. */
  public SenderSet withoutSender(SenderKey key) {
    if (!senders.contains(key)) {
      throw new IllegalArgumentException("sender " + key.fingerprint() + " is not in the set");
    }
    List<SenderKey> s = new ArrayList<>(senders);
    s.remove(key);
    return new SenderSet(Math.addExact(version, 1), owners, s);
  }

  /** The canonical encoding (see the class comment). */
  public byte[] encode() {
    ByteBuffer b =
        ByteBuffer.allocate(
            LABEL.length + 1 + 8 + 1 + owners.size() * 32 + 2 + senders.size() * 32);
    b.put(LABEL).put((byte) 0).putLong(version).put((byte) owners.size());
    owners.forEach(k -> b.put(k.raw()));
    b.putShort((short) senders.size());
    senders.forEach(k -> b.put(k.raw()));
    return b.array();
  }

  /** SHA-256 of {@link #encode()}: what the attested key bundle (version 4) carries. */
  public byte[] digest() {
    return sha256(encode());
  }

  /** Parses {@link #encode()}'s output; refuses any other encoding of the same value. */
  public static SenderSet parse(byte[] in) throws MalformedInputException {
    if (in == null || in.length > MAX_ENCODED) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "sender set must be at most " + MAX_ENCODED + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(in);
    need(b, LABEL.length + 1 + 8 + 1);
    byte[] label = new byte[LABEL.length];
    b.get(label);
    if (!Arrays.equals(label, LABEL) || b.get() != 0) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED, "not a sender set");
    }
    long version = b.getLong();
    int nOwners = b.get() & 0xff;
    List<SenderKey> owners = keys(b, nOwners, "owner");
    need(b, 2);
    int nSenders = b.getShort() & 0xffff;
    List<SenderKey> senders = keys(b, nSenders, "sender");
    if (b.hasRemaining()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "sender set has " + b.remaining() + " trailing bytes");
    }
    SenderSet set;
    try {
      set = new SenderSet(version, owners, senders);
    } catch (IllegalArgumentException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "sender set: " + e.getMessage());
    }
    if (!set.owners.equals(owners) || !set.senders.equals(senders)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "sender set keys are not in ascending order");
    }
    return set;
  }

  private static List<SenderKey> keys(ByteBuffer b, int n, String what)
      throws MalformedInputException {
    need(b, n * 32);
    List<SenderKey> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] raw = new byte[32];
      b.get(raw);
      out.add(SenderKey.of(what + " key " + i, raw));
    }
    return out;
  }

  private static void need(ByteBuffer b, int n) throws MalformedInputException {
    if (b.remaining() < n) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "sender set needs " + n + " more bytes, has " + b.remaining());
    }
  }

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required by the Java platform", e);
    }
  }
}
