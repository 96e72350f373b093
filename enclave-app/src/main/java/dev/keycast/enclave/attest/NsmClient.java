package dev.keycast.enclave.attest;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.cbor.CborWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The NSM request/response protocol over an {@link NsmDevice}.
 *
 * <p>Requests are encoded exactly as {@code serde_cbor} encodes the nsm-api {@code Request} enum:
 * unit variants as bare text strings ({@code "GetRandom"}), struct variants as a one-entry map from
 * the variant name to a map of the fields in declaration order, {@code None} as CBOR null, bytes as
 * byte strings. Responses are parsed strictly: the top level MUST be a one-entry map whose key is
 * the expected variant (or {@code "Error"}), the inner map MUST hold exactly the expected fields
 * with the expected types. Anything else is a {@link MalformedInputException}; an
 * {@code {"Error": code}} answer is an {@link NsmException}.
 *
 * <p>Thread-safe if the device is.
 */
public final class NsmClient {
  /**
   * The most bytes Keycast puts in each of user_data, nonce and public_key. The NSM accepts 1024,
   * but AWS's own verification text and some verifiers (Sui) reject more than 512.
   */
  public static final int MAX_ATTESTATION_FIELD_BYTES =
      dev.keycast.protocol.attestation.Attester.MAX_FIELD_BYTES;

  /** The most bytes one GetRandom answer may carry (nsm-lib documents "up to 256"). */
  public static final int MAX_RANDOM_BYTES = 256;

  /**
   * What NSM responses (serde_cbor output) may use: definite lengths only, non-shortest integers
   * allowed (timestamps are 8-byte), at most 8 levels of nesting and 256 entries per container.
   */
  static final CborReader.Options CBOR_OPTIONS = new CborReader.Options(false, true, 8, 256);

  private final NsmDevice device;

  public NsmClient(NsmDevice device) {
    this.device = Objects.requireNonNull(device, "device");
  }

  /** What DescribePCR reports about one PCR. */
  public record PcrDescription(boolean locked, byte[] data) {
    public PcrDescription {
      data = data.clone();
    }

    @Override
    public byte[] data() {
      return data.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof PcrDescription p && p.locked == locked && Arrays.equals(p.data, data);
    }

    @Override
    public int hashCode() {
      return Boolean.hashCode(locked) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
      return "PcrDescription[locked="
          + locked
          + ", data="
          + java.util.HexFormat.of().formatHex(data)
          + "]";
    }
  }

  /** What DescribeNSM reports about the module. */
  public record NsmDescription(
      int versionMajor,
      int versionMinor,
      int versionPatch,
      String moduleId,
      int maxPcrs,
      List<Integer> lockedPcrs,
      String digest) {
    public NsmDescription {
      lockedPcrs = List.copyOf(lockedPcrs);
    }
  }

  /**
   * Asks for an attestation document (COSE_Sign1, see NITRO-FACTS section 2) binding the given
   * optional fields. Each non-null field MUST be at most {@value #MAX_ATTESTATION_FIELD_BYTES}
   * bytes.
   *
   * @throws IllegalArgumentException if a field is too long (checked before anything is sent)
   */
  public byte[] attestation(byte[] userData, byte[] nonce, byte[] publicKey)
      throws NsmDeviceException, NsmException, MalformedInputException {
    checkAttestationField("user_data", userData);
    checkAttestationField("nonce", nonce);
    checkAttestationField("public_key", publicKey);
    byte[] request =
        new CborWriter()
            .map(1)
            .text("Attestation")
            .map(3)
            .text("user_data")
            .bytesOrNull(userData)
            .text("nonce")
            .bytesOrNull(nonce)
            .text("public_key")
            .bytesOrNull(publicKey)
            .toByteArray();
    Map<String, Object> body = call(request, "Attestation", Set.of("document"));
    return bytesField(body, "document", 1, NsmDevice.MAX_RESPONSE_BYTES);
  }

  /** Fetches fresh random bytes from the NSM's hardware source (1 to 256 bytes per call). */
  public byte[] getRandom() throws NsmDeviceException, NsmException, MalformedInputException {
    byte[] request = new CborWriter().text("GetRandom").toByteArray();
    Map<String, Object> body = call(request, "GetRandom", Set.of("random"));
    return bytesField(body, "random", 1, MAX_RANDOM_BYTES);
  }

  /** Describes PCR {@code index} (0 to 65535). */
  public PcrDescription describePcr(int index)
      throws NsmDeviceException, NsmException, MalformedInputException {
    if (index < 0 || index > 0xFFFF) {
      throw new IllegalArgumentException("PCR index " + index + " is not a u16");
    }
    byte[] request =
        new CborWriter().map(1).text("DescribePCR").map(1).text("index").uint(index).toByteArray();
    Map<String, Object> body = call(request, "DescribePCR", Set.of("lock", "data"));
    if (!(body.get("lock") instanceof Boolean locked)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "DescribePCR.lock is not a boolean");
    }
    byte[] data = bytesField(body, "data", 32, 64);
    if (data.length != 32 && data.length != 48 && data.length != 64) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "DescribePCR.data is " + data.length + " bytes, not 32, 48 or 64");
    }
    return new PcrDescription(locked, data);
  }

  /** Describes the module: version, module id, PCR count, locked PCRs, digest. */
  public NsmDescription describeNsm()
      throws NsmDeviceException, NsmException, MalformedInputException {
    byte[] request = new CborWriter().text("DescribeNSM").toByteArray();
    Map<String, Object> body =
        call(
            request,
            "DescribeNSM",
            Set.of(
                "version_major",
                "version_minor",
                "version_patch",
                "module_id",
                "max_pcrs",
                "locked_pcrs",
                "digest"));
    if (!(body.get("module_id") instanceof String moduleId)
        || moduleId.isEmpty()
        || moduleId.length() > 256) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "DescribeNSM.module_id is not a text of 1..256 characters");
    }
    if (!(body.get("digest") instanceof String digest)
        || !Set.of("SHA256", "SHA384", "SHA512").contains(digest)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "DescribeNSM.digest is not SHA256, SHA384 or SHA512: " + body.get("digest"));
    }
    if (!(body.get("locked_pcrs") instanceof List<?> locked)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "DescribeNSM.locked_pcrs is not an array");
    }
    List<Integer> lockedPcrs = new ArrayList<>(locked.size());
    for (Object o : locked) {
      lockedPcrs.add(u16(o, "DescribeNSM.locked_pcrs[]"));
    }
    return new NsmDescription(
        u16(body.get("version_major"), "DescribeNSM.version_major"),
        u16(body.get("version_minor"), "DescribeNSM.version_minor"),
        u16(body.get("version_patch"), "DescribeNSM.version_patch"),
        moduleId,
        u16(body.get("max_pcrs"), "DescribeNSM.max_pcrs"),
        lockedPcrs,
        digest);
  }

  /** Sends a raw request after the size check; package-private for tests. */
  byte[] send(byte[] request) throws NsmDeviceException, NsmException {
    if (request.length > NsmDevice.MAX_REQUEST_BYTES) {
      throw new NsmException(
          NsmErrorCode.INPUT_TOO_LARGE,
          "request of "
              + request.length
              + " bytes exceeds "
              + NsmDevice.MAX_REQUEST_BYTES
              + " (not sent)");
    }
    return device.call(request);
  }

  private Map<String, Object> call(byte[] request, String variant, Set<String> fields)
      throws NsmDeviceException, NsmException, MalformedInputException {
    byte[] response = send(request);
    if (response.length > NsmDevice.MAX_RESPONSE_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "NSM response of " + response.length + " bytes exceeds " + NsmDevice.MAX_RESPONSE_BYTES);
    }
    Object top = CborReader.decode(response, CBOR_OPTIONS);
    if (!(top instanceof Map<?, ?> outer) || outer.size() != 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "NSM response is not a one-entry map: " + MalformedInputException.quote(response, 32));
    }
    Map.Entry<?, ?> only = outer.entrySet().iterator().next();
    if ("Error".equals(only.getKey())) {
      if (!(only.getValue() instanceof String name)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "NSM Error value is not a text string");
      }
      NsmErrorCode code =
          NsmErrorCode.fromWireName(name)
              .orElseThrow(
                  () ->
                      new MalformedInputException(
                          MalformedInputException.Kind.MALFORMED,
                          "unknown NSM error code \"" + truncate(name) + "\""));
      throw new NsmException(code, "in answer to " + variant);
    }
    if (!variant.equals(only.getKey())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "NSM answered variant \""
              + truncate(String.valueOf(only.getKey()))
              + "\" to a "
              + variant
              + " request");
    }
    if (!(only.getValue() instanceof Map<?, ?> inner)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "NSM " + variant + " answer is not a map");
    }
    if (!inner.keySet().equals(fields)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "NSM " + variant + " answer has fields " + inner.keySet() + ", expected " + fields);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> typed = (Map<String, Object>) inner;
    return typed;
  }

  private static void checkAttestationField(String name, byte[] value) {
    if (value != null && value.length > MAX_ATTESTATION_FIELD_BYTES) {
      throw new IllegalArgumentException(
          name
              + " is "
              + value.length
              + " bytes; at most "
              + MAX_ATTESTATION_FIELD_BYTES
              + " allowed");
    }
  }

  private static byte[] bytesField(Map<String, Object> body, String name, int min, int max)
      throws MalformedInputException {
    if (!(body.get(name) instanceof byte[] b)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "NSM field " + name + " is not a byte string");
    }
    if (b.length < min || b.length > max) {
      throw new MalformedInputException(
          b.length > max
              ? MalformedInputException.Kind.OVERSIZE
              : MalformedInputException.Kind.MALFORMED,
          "NSM field " + name + " is " + b.length + " bytes, allowed " + min + ".." + max);
    }
    return b;
  }

  private static int u16(Object o, String what) throws MalformedInputException {
    if (!(o instanceof Long l) || l < 0 || l > 0xFFFF) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, what + " is not a u16: " + o);
    }
    return l.intValue();
  }

  private static String truncate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
