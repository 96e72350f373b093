package dev.keycast.protocol.upgrade;

/** An image approval is refused: not signed by a quorum of this image's approvers, or it does not match the new key. */
public final class ImageApprovalException extends Exception {
  public ImageApprovalException(String message) {
    super(message);
  }
}
