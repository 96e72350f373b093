package dev.keycast.protocol.attestation;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses AWS Nitro attestation documents WITHOUT verifying them (for display and for the
 * verifier). Structural, type and size checks follow {@code wire-format.md} §6; every length is
 * checked before anything is allocated, and every failure is a {@link MalformedInputException}.
 */
public final class AttestationParser {
  /** Largest {@code user_data}, {@code nonce} and {@code public_key} accepted, in bytes. */
  public static final int MAX_FIELD_BYTES = 1024;

  /** Largest certificate (leaf or CA bundle entry) accepted, in bytes. */
  public static final int MAX_CERTIFICATE_BYTES = 1024;

  /** Largest number of CA bundle entries accepted. */
  public static final int MAX_CABUNDLE_ENTRIES = 16;

  /** Largest {@code module_id} accepted, in UTF-8 bytes. */
  public static final int MAX_MODULE_ID_BYTES = 256;

  /** Number of PCR slots: indices are {@code 0..31}. */
  public static final int MAX_PCRS = 32;

  /** The only digest accepted. */
  public static final String DIGEST_SHA384 = "SHA384";

  private static final Set<String> KNOWN =
      Set.of(
          "module_id",
          "digest",
          "timestamp",
          "pcrs",
          "certificate",
          "cabundle",
          "public_key",
          "user_data",
          "nonce");

  private AttestationParser() {}

  /** Decodes the COSE_Sign1 envelope and its payload. Verifies nothing. */
  public static AttestationDocument parse(byte[] document) throws MalformedInputException {
    return parsePayload(CoseSign1.decode(document).payload());
  }

  /**
   * What the attestation formats tolerate: the NSM emits indefinite-length maps and 8-byte
   * timestamps, so indefinite containers and non-shortest arguments are accepted; skipped items
   * may nest 3 levels.
   */
  static final CborReader.Options CBOR_OPTIONS =
      new CborReader.Options(true, true, 3, Integer.MAX_VALUE);

  /** Decodes an attestation payload (the CBOR map inside COSE_Sign1). Verifies nothing. */
  public static AttestationDocument parsePayload(byte[] payload) throws MalformedInputException {
    if (payload.length > CoseSign1.MAX_MESSAGE_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "attestation payload: " + payload.length + " bytes exceed the limit");
    }
    CborReader r = new CborReader(payload, AttestationParser.CBOR_OPTIONS);
    long n = r.readMapHeader("attestation payload", KNOWN.size());
    Set<String> seen = new HashSet<>();
    String moduleId = null;
    String digest = null;
    long timestamp = -1;
    Map<Integer, byte[]> pcrs = null;
    byte[] certificate = null;
    List<byte[]> cabundle = null;
    byte[] publicKey = null;
    byte[] userData = null;
    byte[] nonce = null;
    for (long i = 0; n == CborReader.INDEFINITE ? !r.peekBreak() : i < n; i++) {
      if (i >= KNOWN.size()) {
        throw new MalformedInputException(
            MalformedInputException.Kind.OVERSIZE,
            "attestation payload: more than " + KNOWN.size() + " entries");
      }
      String key = r.readText("attestation payload key", 1, 32);
      if (!KNOWN.contains(key)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "attestation payload: unknown key \"" + printable(key) + "\"");
      }
      if (!seen.add(key)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "attestation payload: duplicate key \"" + key + "\"");
      }
      switch (key) {
        case "module_id" -> moduleId = r.readText("module_id", 1, MAX_MODULE_ID_BYTES);
        case "digest" -> {
          digest = r.readText("digest", 1, 16);
          if (!DIGEST_SHA384.equals(digest)) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED,
                "digest: \"" + printable(digest) + "\" is not \"SHA384\"");
          }
        }
        case "timestamp" -> {
          timestamp = r.readUint("timestamp");
          if (timestamp == 0) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED, "timestamp: must be positive");
          }
        }
        case "pcrs" -> pcrs = readPcrs(r);
        case "certificate" -> certificate = r.readBytes("certificate", 1, MAX_CERTIFICATE_BYTES);
        case "cabundle" -> cabundle = readCabundle(r);
        case "public_key" -> publicKey = readOptionalBytes(r, "public_key");
        case "user_data" -> userData = readOptionalBytes(r, "user_data");
        case "nonce" -> nonce = readOptionalBytes(r, "nonce");
        default -> throw new AssertionError(key);
      }
    }
    if (n == CborReader.INDEFINITE) {
      r.readBreak("attestation payload");
    }
    r.requireEnd("attestation payload");
    requirePresent(moduleId, "module_id");
    requirePresent(digest, "digest");
    requirePresent(timestamp < 0 ? null : timestamp, "timestamp");
    requirePresent(pcrs, "pcrs");
    requirePresent(certificate, "certificate");
    requirePresent(cabundle, "cabundle");
    return new AttestationDocument(
        moduleId,
        digest,
        timestamp,
        pcrs,
        certificate,
        cabundle,
        publicKey,
        userData,
        nonce,
        payload);
  }

  private static Map<Integer, byte[]> readPcrs(CborReader r) throws MalformedInputException {
    long n = r.readMapHeader("pcrs", MAX_PCRS);
    Map<Integer, byte[]> pcrs = new HashMap<>();
    for (long i = 0; n == CborReader.INDEFINITE ? !r.peekBreak() : i < n; i++) {
      if (i >= MAX_PCRS) {
        throw new MalformedInputException(
            MalformedInputException.Kind.OVERSIZE, "pcrs: more than " + MAX_PCRS + " entries");
      }
      long index = r.readUint("pcrs index");
      if (index >= MAX_PCRS) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "pcrs: index " + index + " is not below 32");
      }
      byte[] value = r.readBytes("PCR" + index, 32, 64);
      if (value.length != 32 && value.length != 48 && value.length != 64) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "PCR" + index + ": length " + value.length + " is not 32, 48 or 64");
      }
      if (pcrs.put((int) index, value) != null) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "pcrs: duplicate index " + index);
      }
    }
    if (n == CborReader.INDEFINITE) {
      r.readBreak("pcrs");
    }
    if (pcrs.isEmpty()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "pcrs: at least one PCR is required");
    }
    return pcrs;
  }

  private static List<byte[]> readCabundle(CborReader r) throws MalformedInputException {
    long n = r.readArrayHeader("cabundle", MAX_CABUNDLE_ENTRIES);
    List<byte[]> out = new ArrayList<>();
    for (long i = 0; n == CborReader.INDEFINITE ? !r.peekBreak() : i < n; i++) {
      if (i >= MAX_CABUNDLE_ENTRIES) {
        throw new MalformedInputException(
            MalformedInputException.Kind.OVERSIZE,
            "cabundle: more than " + MAX_CABUNDLE_ENTRIES + " entries");
      }
      out.add(r.readBytes("cabundle[" + i + "]", 1, MAX_CERTIFICATE_BYTES));
    }
    if (n == CborReader.INDEFINITE) {
      r.readBreak("cabundle");
    }
    if (out.isEmpty()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "cabundle: at least one certificate is required");
    }
    return out;
  }

  private static byte[] readOptionalBytes(CborReader r, String what)
      throws MalformedInputException {
    if (r.peekNull()) {
      r.readNull(what);
      return null;
    }
    return r.readBytes(what, 0, MAX_FIELD_BYTES);
  }

  private static void requirePresent(Object value, String key) throws MalformedInputException {
    if (value == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "attestation payload: missing \"" + key + "\"");
    }
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints()
        .limit(40)
        .forEach(
            c ->
                b.append(
                    c >= 0x20 && c < 0x7f ? Character.toString(c) : String.format("\\u%04x", c)));
    return b.toString();
  }
}
