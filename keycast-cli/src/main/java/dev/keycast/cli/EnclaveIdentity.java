package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.attestation.AttestationException;
import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.attestation.VerifiedAttestation;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import dev.keycast.protocol.keyset.KeyBundle;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * An enclave whose attestation verified: the key bundle it attested (receive key for HPKE,
 * signing key for receipts, key-set id) and the verified document.
 *
 * <p>{@link #verifyEnclave} is the one place where a client decides to trust an enclave: it asks
 * for a document over a fresh random nonce and requires, besides the caller's policy (roots, PCRs,
 * debug, age), that the document's {@code nonce} is that nonce, its {@code public_key} is the
 * bundle's X25519 receive key SPKI and its {@code user_data} is SHA-256 of the bundle's canonical
 * encoding (wire-format.md 4.2). The bundle is rebuilt from the answer's fields, never trusted as
 * given; since the encoding covers {@code kms_key_id}, the host cannot change which KMS key the
 * bundle names. The attested KMS key id must be one the caller pins (the deployment file's {@code
 * kms_key_arn} or {@code --expect-kms-key}; {@link AttestationOptions#pins()} requires one):
 * otherwise the key set may have been sealed by the host itself under a key without attestation
 * conditions (threat-model.md). The encoding also covers the key set's KDM signer chain (bundle
 * version 5), which must moreover be an ST 430-2 signer chain. All of this happens before any
 * secret leaves the client.
 *
 * <p>{@link #verifyStored} does the same for a bundle saved earlier ({@code attest --out-bundle}):
 * the file carries the attestation document, which is verified again, every time the file is used,
 * against the caller's pins (signature, chain to a trusted root at the document's timestamp, PCRs,
 * {@code public_key} and {@code user_data} binding to the bundle, KMS key). A file is never trusted
 * as given: the host may have written it (the CVE-2025-64186 class of a cached, unverified
 * document).
 *
 * @param bundle the attested key bundle
 * @param attestation the verified document
 * @param document the raw attestation document (COSE_Sign1), for auditors
 * @param nonce the nonce this client chose
 */
record EnclaveIdentity(
    KeyBundle bundle, VerifiedAttestation attestation, byte[] document, byte[] nonce) {
  /** Nonce length used by the client (api.md allows up to 64 bytes). */
  static final int NONCE_BYTES = 32;

  EnclaveIdentity {
    document = document.clone();
    nonce = nonce.clone();
  }

  /**
   * Fetches and verifies the enclave's attestation.
   *
   * @throws CliException {@link ExitCodes#VERIFICATION_FAILED} naming the failed check
   * @throws HostException the host answered an error or could not be reached
   */
  static EnclaveIdentity verifyEnclave(
      HostClient host, AttestationOptions.Pins pins, SecureRandom random)
      throws CliException, HostException {
    VerificationPolicy policy = pins.policy();
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    EnclaveApi.AttestationResponse resp = host.attestation(Base64Url.encode(nonce));
    if (resp.document() == null || resp.keyBundle() == null) {
      throw CliException.verification("attestation answer lacks the document or the key bundle");
    }
    KeyBundle bundle = bundle(resp.keyBundle());
    byte[] document;
    try {
      document = Base64Url.decode("document", resp.document(), HostClient.MAX_ATTESTATION_BYTES);
    } catch (MalformedInputException e) {
      throw CliException.verification("attestation answer: " + e.getMessage());
    }
    VerificationPolicy full =
        policy.toBuilder()
            .expectedNonce(nonce)
            .expectedPublicKey(bundle.receivePublicKeySpki())
            .expectedUserData(bundle.userData())
            .build();
    VerifiedAttestation verified;
    try {
      verified = AttestationVerifier.create(full).verify(document);
    } catch (AttestationException e) {
      throw CliException.verification(
          "attestation " + e.reason() + ": " + e.getMessage() + advice(e.reason()));
    }
    requireKmsKey(bundle, pins.kmsKeys());
    requireLockedUnlessAllowed(bundle, pins);
    return new EnclaveIdentity(bundle, verified, document, nonce);
  }

  /** Largest stored bundle file read (the document is at most 16 KiB; base64 and JSON around it). */
  static final int MAX_BUNDLE_FILE = 1024 * 1024;

  /** The bundle file {@code attest --out-bundle} writes (and the members of {@code attest --json} it reads). */
  record BundleFile(EnclaveApi.KeyBundle keyBundle, String attestationDocument) {}

  /**
   * Refuses a bundle whose enclave did not attest that its KMS key is locked (kms-sealing.md
   * section 6), unless the caller passed {@code --allow-unlocked-kms-key} ({@link
   * #warnings()} then says so on every use): then someone other than the attested enclave
   * may be able to decrypt its key set.
   */
  static void requireLockedUnlessAllowed(KeyBundle bundle, AttestationOptions.Pins pins)
      throws CliException {
    if (!pins.allowUnlockedKmsKey() && !bundle.kmsKeyLocked()) {
      throw CliException.verification(
          "the enclave's KMS key "
              + bundle.kmsKeyId()
              + " "
              + unlockedWhy(bundle)
              + ": someone other than the attested enclave may be able to decrypt its key set; do not send"
              + " (--allow-unlocked-kms-key accepts it, with a warning on every use)");
    }
  }

  private static String unlockedWhy(KeyBundle bundle) {
    return bundle
        .kmsKeyCheck()
        .map(
            c ->
                "is not locked, as the enclave found its policy (sha256 "
                    + HexFormat.of().formatHex(c.policySha256())
                    + ") and grants")
        .orElse("was not checked by the enclave (a key bundle without a KMS key check)");
  }

  /**
   * Reads a stored key bundle and verifies its attestation document again under {@code pins}: at
   * the document's own timestamp (a stored document is not fresh; it proves origin), with the
   * document's {@code public_key} and {@code user_data} bound to the bundle, the bundle's KMS key
   * pinned and, unless allowed, locked.
   *
   * @throws CliException {@link ExitCodes#USAGE} for an unreadable file, {@link
   *     ExitCodes#VERIFICATION_FAILED} when the document is missing or does not verify
   */
  static KeyBundle verifyStored(
      java.nio.file.Path file, String option, AttestationOptions.Pins pins) throws CliException {
    byte[] bytes = CliFiles.read(file, option, MAX_BUNDLE_FILE);
    com.fasterxml.jackson.databind.JsonNode root;
    try {
      root =
          com.fasterxml.jackson.databind.json.JsonMapper.builder()
              .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
              .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
              .build()
              .readTree(bytes);
    } catch (java.io.IOException | RuntimeException e) {
      throw CliException.usage(option + " " + file + ": not a key bundle JSON (unreadable JSON)");
    }
    if (root == null || !root.isObject() || !root.path("key_bundle").isObject()) {
      throw CliException.usage(
          option
              + " "
              + file
              + ": not a key bundle file ('keycast attest --out-bundle FILE'"
              + " or the output of 'keycast attest --json')");
    }
    com.fasterxml.jackson.databind.JsonNode doc = root.get("attestation_document");
    if (doc == null || !doc.isTextual()) {
      throw CliException.verification(
          option
              + " "
              + file
              + ": the bundle carries no attestation document, so"
              + " nothing proves an enclave made it; save a new one with 'keycast attest --out-bundle FILE'");
    }
    KeyBundle bundle;
    byte[] document;
    try {
      EnclaveApi.KeyBundle b =
          Json.decode(
              Json.mapper().writeValueAsBytes(root.get("key_bundle")),
              64 * 1024,
              EnclaveApi.KeyBundle.class);
      bundle = bundle(b);
      document =
          Base64Url.decode("attestation_document", doc.asText(), HostClient.MAX_ATTESTATION_BYTES);
    } catch (MalformedInputException | java.io.IOException e) {
      throw CliException.verification(option + " " + file + ": " + e.getMessage());
    } catch (CliException e) {
      throw CliException.verification(option + " " + file + ": " + e.getMessage());
    }
    VerificationPolicy stored =
        pins.policy().toBuilder()
            .validationTime(dev.keycast.protocol.attestation.ValidationTime.documentTimestamp())
            .expectedPublicKey(bundle.receivePublicKeySpki())
            .expectedUserData(bundle.userData())
            .build();
    try {
      AttestationVerifier.create(stored).verify(document);
    } catch (AttestationException e) {
      throw CliException.verification(
          option
              + " "
              + file
              + ": the bundle's attestation "
              + e.reason()
              + ": "
              + e.getMessage()
              + advice(e.reason()));
    }
    requireKmsKey(bundle, pins.kmsKeys());
    requireLockedUnlessAllowed(bundle, pins);
    return bundle;
  }

  /** Refuses an attested bundle whose KMS key is not one of {@code expected} (never empty). */
  static void requireKmsKey(KeyBundle bundle, java.util.Set<String> expected) throws CliException {
    if (expected.isEmpty() || !expected.contains(bundle.kmsKeyId())) {
      throw CliException.verification(
          "the enclave's key set "
              + bundle.keySetId()
              + " is protected by KMS key "
              + bundle.kmsKeyId()
              + ", not by the pinned KMS key "
              + String.join(" or ", new java.util.TreeSet<>(expected))
              + ": the host may have sealed keys it knows under a key it controls; do not send");
    }
  }

  /**
   * Rebuilds a {@link KeyBundle} from its JSON form. Keys may be raw (32 bytes) or RFC 8410 SPKI
   * (44 bytes); a {@code user_data} field, when present, must equal the recomputed digest.
   */
  static KeyBundle bundle(EnclaveApi.KeyBundle b) throws CliException {
    try {
      KeyBundle bundle =
          new KeyBundle(
              b.keySetId(),
              rawKey("receive_public_key", b.receivePublicKey(), X25519_SPKI_PREFIX),
              rawKey("signing_public_key", b.signingPublicKey(), ED25519_SPKI_PREFIX),
              requireField("kms_key_id", b.kmsKeyId()));
      if (b.kmsKeyCheck() != null) {
        bundle =
            bundle.withKmsKeyCheck(
                new dev.keycast.protocol.keyset.KmsKeyCheck(
                    requireField("kms_key_check.locked", b.kmsKeyCheck().locked()),
                    Base64Url.decode(
                        "kms_key_check.policy_sha256",
                        requireField("kms_key_check.policy_sha256", b.kmsKeyCheck().policySha256()),
                        32)));
      }
      if (b.senderSet() != null) {
        bundle =
            bundle.withSenderSet(
                new KeyBundle.SenderSetRef(
                    requireField("sender_set.version", b.senderSet().version()),
                    Base64Url.decode(
                        "sender_set.sha256",
                        requireField("sender_set.sha256", b.senderSet().sha256()),
                        32)));
      }
      if (b.kdmSignerChain() != null) {
        // issue 24: the KDM signer chain is part of the attested encoding (bundle version 5), and
        // must be an ST 430-2 signer chain
        if (b.kdmSignerChain().size() < 2
            || b.kdmSignerChain().size() > KdmSignerKeys.MAX_CERTIFICATES) {
          throw CliException.verification(
              "key bundle: kdm_signer_chain must hold 2 to "
                  + KdmSignerKeys.MAX_CERTIFICATES
                  + " certificates");
        }
        List<byte[]> chain = new ArrayList<>();
        for (String c : b.kdmSignerChain()) {
          chain.add(Base64Url.decode("kdm_signer_chain", c, KdmSignerKeys.MAX_CERTIFICATE_BYTES));
        }
        try {
          KdmSignerKeys.validateChain(chain);
        } catch (dev.keycast.protocol.cinema.CinemaException e) {
          throw CliException.verification(
              "key bundle: the KDM signer chain is not an ST 430-2 signer chain ("
                  + e.code()
                  + ": "
                  + e.getMessage()
                  + ")");
        }
        bundle = bundle.withKdmSignerChain(chain);
      }
      if (b.userData() != null) {
        byte[] given = Base64Url.decode("user_data", b.userData(), 64);
        if (!MessageDigest.isEqual(given, bundle.userData())) {
          throw CliException.verification(
              "key bundle: user_data "
                  + HexFormat.of().formatHex(given)
                  + " is not SHA-256 of the bundle's keys and KMS key id ("
                  + HexFormat.of().formatHex(bundle.userData())
                  + ")");
        }
      }
      return bundle;
    } catch (MalformedInputException e) {
      throw CliException.verification("key bundle: " + e.getMessage());
    } catch (IllegalArgumentException | NullPointerException e) {
      throw CliException.verification(
          "key bundle: " + (e.getMessage() == null ? "missing field" : e.getMessage()));
    }
  }

  private static <T> T requireField(String field, T value) throws MalformedInputException {
    if (value == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          field
              + " is missing (an enclave older than the"
              + " KMS-key binding, or a bundle file written before it)");
    }
    return value;
  }

  private static final byte[] X25519_SPKI_PREFIX =
      HexFormat.of().parseHex("302a300506032b656e032100");
  private static final byte[] ED25519_SPKI_PREFIX =
      HexFormat.of().parseHex("302a300506032b6570032100");

  private static byte[] rawKey(String field, String b64, byte[] spkiPrefix)
      throws MalformedInputException {
    byte[] k = Base64Url.decode(field, b64, 64);
    if (k.length == 32) {
      return k;
    }
    if (k.length == 44 && Arrays.equals(k, 0, 12, spkiPrefix, 0, 12)) {
      return Arrays.copyOfRange(k, 12, 44);
    }
    throw new MalformedInputException(
        MalformedInputException.Kind.MALFORMED,
        field + " must be a raw 32-byte key or its 44-byte SPKI, got " + k.length + " bytes");
  }

  private static String advice(dev.keycast.protocol.attestation.AttestationException.Reason r) {
    return switch (r) {
      case PCR_MISMATCH ->
          " (the enclave runs an image other than the one in --expect-pcrs: do not send)";
      case UNTRUSTED_ROOT -> " (pass --trust-root only for a mock enclave you run yourself)";
      case NONCE_MISMATCH -> " (the document was not made for this request: a replay?)";
      case PUBLIC_KEY_MISMATCH, USER_DATA_MISMATCH ->
          " (the host's key bundle is not the one the enclave attested: do not send)";
      case DEBUG_MODE ->
          " (a debug enclave can be inspected by its operator; --allow-debug only for tests)";
      case TOO_OLD, EXPIRED, NOT_YET_VALID, TIMESTAMP_IN_FUTURE -> " (check this machine's clock)";
      default -> "";
    };
  }

  @Override
  public byte[] document() {
    return document.clone();
  }

  @Override
  public byte[] nonce() {
    return nonce.clone();
  }

  /** The bundle file: the bundle and the document that attests it, as {@code --bundle} options read it. */
  BundleFile bundleFile() {
    return new BundleFile(bundleJson(), Base64Url.encode(document));
  }

  /** The bundle in its JSON form (raw keys, base64url). */
  EnclaveApi.KeyBundle bundleJson() {
    return new EnclaveApi.KeyBundle(
        bundle.keySetId(),
        Base64Url.encode(bundle.receivePublicKey()),
        Base64Url.encode(bundle.signingPublicKey()),
        bundle.kmsKeyId(),
        Base64Url.encode(bundle.userData()),
        bundle
            .kmsKeyCheck()
            .map(c -> new EnclaveApi.KmsKeyCheck(c.locked(), Base64Url.encode(c.policySha256())))
            .orElse(null),
        bundle
            .senderSet()
            .map(r -> new EnclaveApi.SenderSetRef(r.version(), Base64Url.encode(r.sha256())))
            .orElse(null),
        bundle.kdmSignerChain().isEmpty()
            ? null
            : bundle.kdmSignerChain().stream().map(Base64Url::encode).toList());
  }

  /** The measurements worth showing: PCR0, 1, 2, 3, 4 and 8, lowercase hex. */
  java.util.SortedMap<String, String> measurements() {
    java.util.TreeMap<String, String> m = new java.util.TreeMap<>();
    for (int i : new int[] {0, 1, 2, 3, 4, 8}) {
      attestation.document().pcr(i).ifPresent(v -> m.put("PCR" + i, HexFormat.of().formatHex(v)));
    }
    return m;
  }

  /** Human warnings about what this verification does not prove. */
  List<String> warnings() {
    List<String> out = new ArrayList<>();
    if (!bundle.kmsKeyLocked()) {
      out.add(
          "the enclave's KMS key "
              + bundle.kmsKeyId()
              + " "
              + unlockedWhy(bundle)
              + ", accepted because of --allow-unlocked-kms-key: others may be able to decrypt the enclave's keys");
    }
    for (VerifiedAttestation.Warning w : attestation.warnings()) {
      switch (w) {
        case NON_AWS_ROOT -> {
          TrustRoot r = attestation.trustRoot();
          out.add(
              "the document chains to the non-AWS root "
                  + r.name()
                  + " (sha256 "
                  + r.sha256()
                  + "): it proves nothing about AWS Nitro hardware");
        }
        case DEBUG_MODE ->
            out.add("debug-mode enclave (PCR0 all zeros) accepted because of --allow-debug");
        case PCRS_NOT_CHECKED -> out.add("PCRs not checked: any enclave image is accepted");
        case FRESHNESS_NOT_CHECKED -> out.add("freshness not checked");
      }
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EnclaveIdentity e
        && bundle.equals(e.bundle)
        && Arrays.equals(document, e.document);
  }

  @Override
  public int hashCode() {
    return bundle.hashCode();
  }

  @Override
  public String toString() {
    return "EnclaveIdentity[" + bundle.keySetId() + "]";
  }
}
