package dev.keycast.protocol.upgrade;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Who may approve a successor image (kms-sealing.md section 7): a set of Ed25519 public keys and
 * a quorum. The set is part of the measured image (the enclave's command line {@code
 * --image-approver}, {@code --image-approval-quorum}), so PCR0 covers it and the host cannot
 * change it.
 *
 * <p>An approval is accepted when at least {@link #quorum()} <em>distinct</em> approvers of this
 * set signed its exact statement bytes (RFC 8032 Ed25519, pure). Signatures by keys outside the
 * set, and repeated signatures by one approver, do not count. An empty set accepts nothing.
 *
 * @param approvers raw 32-byte Ed25519 public keys (1..16, distinct)
 * @param quorum how many of them must sign (1..approvers.size())
 */
public record ImageApprovers(List<byte[]> approvers, int quorum) {
  /** The set that approves nothing (an image built without approvers never re-wraps its key set). */
  public static final ImageApprovers NONE = new ImageApprovers(List.of(), 0);

  public ImageApprovers {
    List<byte[]> copy = new ArrayList<>();
    for (byte[] a : approvers) {
      if (a == null || a.length != 32) {
        throw new IllegalArgumentException("an image approver is a 32-byte Ed25519 public key");
      }
      if (!Ed25519.validatePublicKeyFull(a, 0)) {
        throw new IllegalArgumentException(
            "image approver " + HexFormat.of().formatHex(a) + " is not a valid Ed25519 public key");
      }
      for (byte[] b : copy) {
        if (Arrays.equals(a, b)) {
          throw new IllegalArgumentException(
              "image approver " + Base64Url.encode(a) + " is listed twice");
        }
      }
      copy.add(a.clone());
    }
    if (copy.size() > ImageApproval.MAX_SIGNATURES) {
      throw new IllegalArgumentException(
          "at most " + ImageApproval.MAX_SIGNATURES + " image approvers");
    }
    if (copy.isEmpty() ? quorum != 0 : (quorum < 1 || quorum > copy.size())) {
      throw new IllegalArgumentException(
          "the image approval quorum must be 1.." + copy.size() + ", got " + quorum);
    }
    approvers = List.copyOf(copy);
  }

  /** Parses approver keys as given on a command line (base64url or hex of the raw 32 bytes). */
  public static ImageApprovers parse(List<String> keys, Integer quorum)
      throws MalformedInputException {
    List<byte[]> raw = new ArrayList<>();
    for (String k : keys) {
      raw.add(publicKeyFromText(k));
    }
    try {
      return new ImageApprovers(raw, quorum != null ? quorum : (raw.isEmpty() ? 0 : 1));
    } catch (IllegalArgumentException e) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED, e.getMessage());
    }
  }

  /** A raw Ed25519 public key from 64 hex characters or 43 base64url characters. */
  public static byte[] publicKeyFromText(String k) throws MalformedInputException {
    if (k != null && k.matches("[0-9a-fA-F]{64}")) {
      return HexFormat.of().parseHex(k);
    }
    byte[] raw = Base64Url.decode("image approver", k, 32);
    if (raw.length != 32) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "an image approver is 32 bytes (raw Ed25519 public key), base64url or hex");
    }
    return raw;
  }

  @Override
  public List<byte[]> approvers() {
    return approvers.stream().map(byte[]::clone).toList();
  }

  /** True when this set can approve anything. */
  public boolean isEmpty() {
    return approvers.isEmpty();
  }

  /**
   * Checks the signatures of {@code approval} and returns its statement when a quorum of this set
   * signed it.
   *
   * @throws ImageApprovalException when fewer than {@link #quorum()} distinct approvers of this set
   *     signed the statement (or the set is empty)
   */
  public ImageApproval.Statement verify(ImageApproval approval) throws ImageApprovalException {
    if (approvers.isEmpty()) {
      throw new ImageApprovalException(
          "this enclave image has no image approvers: it never re-wraps its key set");
    }
    byte[] message = approval.statement().encode();
    boolean[] signed = new boolean[approvers.size()];
    for (ImageApproval.Signature s : approval.signatures()) {
      int index = indexOf(s.approver());
      if (index < 0 || signed[index]) {
        continue;
      }
      if (Ed25519.verify(s.signature(), 0, s.approver(), 0, message, 0, message.length)) {
        signed[index] = true;
      }
    }
    int count = 0;
    for (boolean b : signed) {
      count += b ? 1 : 0;
    }
    if (count < quorum) {
      throw new ImageApprovalException(
          "the image approval is signed by "
              + count
              + " of this image's "
              + approvers.size()
              + " approvers; "
              + quorum
              + " must sign its exact statement");
    }
    return approval.statement();
  }

  private int indexOf(byte[] key) {
    for (int i = 0; i < approvers.size(); i++) {
      if (MessageDigest.isEqual(approvers.get(i), key)) {
        return i;
      }
    }
    return -1;
  }

  /** Signs {@code statement} with an Ed25519 private key (JDK or PKCS#8 from openssl). */
  public static ImageApproval.Signature sign(
      ImageApproval.Statement statement, PrivateKey key, PublicKey publicKey)
      throws GeneralSecurityException {
    java.security.Signature s = java.security.Signature.getInstance("Ed25519");
    s.initSign(key);
    s.update(statement.encode());
    return new ImageApproval.Signature(rawPublicKey(publicKey), s.sign());
  }

  /** The raw 32 bytes of an Ed25519 public key (the last 32 bytes of its 44-byte X.509 encoding). */
  public static byte[] rawPublicKey(PublicKey publicKey) {
    byte[] spki = publicKey.getEncoded();
    if (!"Ed25519".equals(publicKey.getAlgorithm()) && !"EdDSA".equals(publicKey.getAlgorithm())
        || spki.length != 44) {
      throw new IllegalArgumentException("not an Ed25519 public key");
    }
    return Arrays.copyOfRange(spki, 12, 44);
  }
}
