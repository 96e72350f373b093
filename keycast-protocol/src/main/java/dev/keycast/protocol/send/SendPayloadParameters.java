package dev.keycast.protocol.send;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.hpke.HpkeSuite;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * How a send's payload is sealed (api.md section 1.1), immutable: payload {@code version}, the HPKE
 * {@code suite} and its wire name, and the key set it is sealed to. The HPKE {@code info} is
 * {@code "keycast/v1/send" || 0x00 || UTF8(key_set_id)}; the associated data is the policy's exact
 * bytes (given to {@link SendPayloadSealer#seal} and {@link SendPayloadOpener#open}).
 *
 * @param version the payload format version ({@code 1})
 * @param suite the HPKE suite
 * @param suiteName the suite's name on the wire ({@link EnclaveApi#SUITE_V1})
 * @param keySetId the key set whose receive key seals the payload
 */
public record SendPayloadParameters(
    int version, HpkeSuite suite, String suiteName, String keySetId, String infoLabel) {
  /** The label that starts a send's HPKE {@code info}; defined here and nowhere else. */
  public static final String INFO_LABEL = "keycast/v1/send";

  /**
   * The label that starts the HPKE {@code info} of a legacy DKDM key sealed to the enclave for
   * import (wire-format.md section 10.6): a key import never opens as a send, nor a send as one.
   */
  public static final String KEY_IMPORT_INFO_LABEL = "keycast/v1/dkdm-key-import";

  public SendPayloadParameters {
    Objects.requireNonNull(suite, "suite");
    Objects.requireNonNull(suiteName, "suiteName");
    Objects.requireNonNull(keySetId, "keySetId");
    Objects.requireNonNull(infoLabel, "infoLabel");
  }

  /** Parameters of a send (info label {@link #INFO_LABEL}). */
  public SendPayloadParameters(int version, HpkeSuite suite, String suiteName, String keySetId) {
    this(version, suite, suiteName, keySetId, INFO_LABEL);
  }

  /** A legacy DKDM key import's: {@link HpkeSuite#KEYCAST_V1}, info label {@link #KEY_IMPORT_INFO_LABEL}. */
  public static SendPayloadParameters keyImportV1(String keySetId) {
    return new SendPayloadParameters(
        1, HpkeSuite.KEYCAST_V1, EnclaveApi.SUITE_V1, keySetId, KEY_IMPORT_INFO_LABEL);
  }

  /** Version 1: {@link HpkeSuite#KEYCAST_V1} to the key set {@code keySetId}. */
  public static SendPayloadParameters v1(String keySetId) {
    return new SendPayloadParameters(1, HpkeSuite.KEYCAST_V1, EnclaveApi.SUITE_V1, keySetId);
  }

  /** The HPKE {@code info}: {@code label || 0x00 || UTF8(key_set_id)}; a fresh array. */
  public byte[] info() {
    return info(infoLabel, keySetId);
  }

  /** The HPKE {@code info} of a send sealed to {@code keySetId}. */
  public static byte[] info(String keySetId) {
    return info(INFO_LABEL, keySetId);
  }

  private static byte[] info(String infoLabel, String keySetId) {
    byte[] label = infoLabel.getBytes(StandardCharsets.US_ASCII);
    byte[] id = keySetId.getBytes(StandardCharsets.UTF_8);
    byte[] info = new byte[label.length + 1 + id.length];
    System.arraycopy(label, 0, info, 0, label.length);
    System.arraycopy(id, 0, info, label.length + 1, id.length);
    return info;
  }
}
