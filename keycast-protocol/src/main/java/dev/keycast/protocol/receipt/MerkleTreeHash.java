package dev.keycast.protocol.receipt;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The Merkle Tree Hash of RFC 9162 section 2.1.1 (unchanged from RFC 6962 section 2.1), computed
 * incrementally: leaves are appended one at a time and only the roots of the complete subtrees
 * seen so far are kept (at most 64 hashes), so a tree of any size is hashed in constant memory.
 *
 * <pre>
 * MTH({})      = SHA-256()
 * MTH({d0})    = SHA-256(0x00 || d0)
 * MTH(D[n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two &lt; n
 * </pre>
 *
 * Not thread-safe; one instance per tree.
 */
public final class MerkleTreeHash {
  /** Length of every hash, leaf or node. */
  public static final int HASH_LENGTH = 32;

  private static final byte LEAF = 0x00;
  private static final byte NODE = 0x01;

  private final MessageDigest sha256;
  // subtree[i] is the root of the complete subtree of 2^i leaves when bit i of size is set
  private final byte[][] subtree = new byte[64][];
  private long size;

  /** An empty tree. */
  public MerkleTreeHash() {
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }

  /** Appends the leaf {@code data[off, off + len)}: its hash is SHA-256(0x00 || data). */
  public void addLeaf(byte[] data, int off, int len) {
    sha256.update(LEAF);
    sha256.update(data, off, len);
    byte[] h = sha256.digest();
    int level = 0;
    while ((size & (1L << level)) != 0) {
      h = node(subtree[level], h);
      subtree[level] = null;
      level++;
    }
    subtree[level] = h;
    size++;
  }

  /** Appends the leaf {@code data}. */
  public void addLeaf(byte[] data) {
    addLeaf(data, 0, data.length);
  }

  /** Number of leaves appended. */
  public long size() {
    return size;
  }

  /** The tree hash of the leaves appended so far (the tree stays usable). */
  public byte[] root() {
    if (size == 0) {
      return sha256.digest();
    }
    byte[] acc = null;
    for (int level = 0; level < 64; level++) {
      if ((size & (1L << level)) != 0) {
        acc = acc == null ? subtree[level].clone() : node(subtree[level], acc);
      }
    }
    return acc;
  }

  private byte[] node(byte[] left, byte[] right) {
    sha256.update(NODE);
    sha256.update(left);
    sha256.update(right);
    return sha256.digest();
  }
}
