package dev.keycast.protocol.upgrade;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySet;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An <em>image approval</em> (kms-sealing.md section 7): the signed statement that lets a running
 * enclave re-wrap its key set for a successor image under a new, locked KMS key.
 *
 * <p>The signed bytes are the statement text, UTF-8, exactly these lines in this order, each ended
 * by one LF, nothing else (so there is one encoding of each statement and no canonicalisation):
 *
 * <pre>
 *   keycast-image-approval/1
 *   key-set-id: ks-...                       the key set that may be re-wrapped
 *   kms-key-arn: arn:aws:kms:R:ACCOUNT:key/ID  the new locked key
 *   pcr0: 96 lower-case hex                 the successor image (= ImageSha384)
 *   pcr3: 96 lower-case hex | -             the parent role, when pinned
 *   pcr8: 96 lower-case hex | -             the image signing certificate, when pinned
 *   predecessor-pcr0: 96 lower-case hex     the image that re-wraps (may GenerateDataKey under the new key)
 * </pre>
 *
 * <p>The approval document is JSON: {@code {"statement": TEXT, "signatures": [{"approver":
 * base64url(32-byte Ed25519 public key), "signature": base64url(64-byte RFC 8032 Ed25519 signature
 * over the statement bytes)}, ...]}}, at most {@link #MAX_ENCODED} bytes and {@link
 * #MAX_SIGNATURES} signatures. Signatures are checked by {@link ImageApprovers#verify}.
 */
public record ImageApproval(Statement statement, List<Signature> signatures) {
  /** First line of every statement. */
  public static final String HEADER = "keycast-image-approval/1";

  /** Longest approval document accepted. */
  public static final int MAX_ENCODED = 16 * 1024;

  /** Most signatures one approval may carry. */
  public static final int MAX_SIGNATURES = 16;

  private static final Pattern PCR = Pattern.compile("[0-9a-f]{96}");
  private static final Pattern KEY_ARN =
      Pattern.compile(
          "arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}");

  public ImageApproval {
    Objects.requireNonNull(statement, "statement");
    signatures = List.copyOf(signatures);
    if (signatures.size() > MAX_SIGNATURES) {
      throw new IllegalArgumentException(
          "an approval carries at most " + MAX_SIGNATURES + " signatures");
    }
  }

  /** One approver's signature over the statement bytes. */
  public record Signature(byte[] approver, byte[] signature) {
    public Signature {
      if (approver == null || approver.length != 32) {
        throw new IllegalArgumentException("an approver public key is 32 bytes (raw Ed25519)");
      }
      if (signature == null || signature.length != 64) {
        throw new IllegalArgumentException("an Ed25519 signature is 64 bytes");
      }
      approver = approver.clone();
      signature = signature.clone();
    }

    @Override
    public byte[] approver() {
      return approver.clone();
    }

    @Override
    public byte[] signature() {
      return signature.clone();
    }
  }

  /**
   * What is approved.
   *
   * @param keySetId the key set that may be re-wrapped (KeySet id syntax)
   * @param kmsKeyArn the new KMS key, a full key ARN (no alias)
   * @param pcr0 the successor image, 96 lower-case hex
   * @param pcr3 the parent role's PCR3 the new key must pin, or empty
   * @param pcr8 the signing certificate's PCR8 the new key must pin, or empty
   * @param predecessorPcr0 the image that performs the re-wrap (the only other image the new key
   *     may let GenerateDataKey, never Decrypt)
   */
  public record Statement(
      String keySetId,
      String kmsKeyArn,
      String pcr0,
      Optional<String> pcr3,
      Optional<String> pcr8,
      String predecessorPcr0) {
    public Statement {
      if (keySetId == null || !KeySet.isWellFormedId(keySetId)) {
        throw new IllegalArgumentException("key-set-id is not a key set id");
      }
      if (kmsKeyArn == null || !KEY_ARN.matcher(kmsKeyArn).matches()) {
        throw new IllegalArgumentException(
            "kms-key-arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)");
      }
      requirePcr("pcr0", pcr0);
      requirePcr("predecessor-pcr0", predecessorPcr0);
      Objects.requireNonNull(pcr3, "pcr3");
      Objects.requireNonNull(pcr8, "pcr8");
      pcr3.ifPresent(v -> requirePcr("pcr3", v));
      pcr8.ifPresent(v -> requirePcr("pcr8", v));
    }

    /** The region named by {@link #kmsKeyArn()}. */
    public String region() {
      return kmsKeyArn.split(":", 6)[3];
    }

    /** The exact bytes approvers sign. */
    public byte[] encode() {
      String text =
          HEADER
              + "\n"
              + "key-set-id: "
              + keySetId
              + "\n"
              + "kms-key-arn: "
              + kmsKeyArn
              + "\n"
              + "pcr0: "
              + pcr0
              + "\n"
              + "pcr3: "
              + pcr3.orElse("-")
              + "\n"
              + "pcr8: "
              + pcr8.orElse("-")
              + "\n"
              + "predecessor-pcr0: "
              + predecessorPcr0
              + "\n";
      return text.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Parses statement text; accepts exactly the output of {@link #encode()} (any other byte,
     * order, case or line ending is refused).
     */
    public static Statement parse(String text) throws MalformedInputException {
      if (text == null || text.length() > 2048) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "the approval statement is missing or longer than 2048 characters");
      }
      String[] lines = text.split("\n", -1);
      String[] names = {
        null, "key-set-id", "kms-key-arn", "pcr0", "pcr3", "pcr8", "predecessor-pcr0"
      };
      if (lines.length != names.length + 1
          || !lines[names.length].isEmpty()
          || !lines[0].equals(HEADER)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "the approval statement must be the "
                + names.length
                + " LF-terminated lines of "
                + HEADER);
      }
      String[] values = new String[names.length];
      for (int i = 1; i < names.length; i++) {
        String prefix = names[i] + ": ";
        if (!lines[i].startsWith(prefix)) {
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED,
              "line " + (i + 1) + " of the approval statement must start with '" + prefix + "'");
        }
        values[i] = lines[i].substring(prefix.length());
      }
      Statement s;
      try {
        s =
            new Statement(
                values[1],
                values[2],
                values[3],
                optional(values[4]),
                optional(values[5]),
                values[6]);
      } catch (IllegalArgumentException e) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "approval statement: " + e.getMessage());
      }
      if (!new String(s.encode(), StandardCharsets.US_ASCII).equals(text)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "the approval statement is not in its one canonical form");
      }
      return s;
    }

    private static Optional<String> optional(String v) {
      return v.equals("-") ? Optional.empty() : Optional.of(v);
    }

    private static void requirePcr(String name, String v) {
      if (v == null || !PCR.matcher(v).matches()) {
        throw new IllegalArgumentException(
            name + " must be 96 lower-case hex characters (SHA-384)");
      }
    }
  }

  /** The JSON form. */
  public record Document(String statement, List<SignatureDocument> signatures) {}

  /** The JSON form of one signature. */
  public record SignatureDocument(String approver, String signature) {}

  /** Parses an approval document (JSON, at most {@link #MAX_ENCODED} bytes). Signatures are not checked here. */
  public static ImageApproval parse(byte[] json) throws MalformedInputException {
    return fromDocument(Json.decode(json, MAX_ENCODED, Document.class));
  }

  /** An approval from its JSON form. Signatures are not checked here. */
  public static ImageApproval fromDocument(Document d) throws MalformedInputException {
    if (d == null || d.statement() == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "the approval has no statement");
    }
    Statement s = Statement.parse(d.statement());
    List<SignatureDocument> sigs = d.signatures() == null ? List.of() : d.signatures();
    if (sigs.size() > MAX_SIGNATURES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "an approval carries at most " + MAX_SIGNATURES + " signatures");
    }
    List<Signature> out = new ArrayList<>();
    for (SignatureDocument sd : sigs) {
      if (sd == null || sd.approver() == null || sd.signature() == null) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "each signature needs approver and signature");
      }
      byte[] approver = Base64Url.decode("approver", sd.approver(), 32);
      byte[] sig = Base64Url.decode("signature", sd.signature(), 64);
      try {
        out.add(new Signature(approver, sig));
      } catch (IllegalArgumentException e) {
        throw new MalformedInputException(MalformedInputException.Kind.MALFORMED, e.getMessage());
      }
    }
    return new ImageApproval(s, out);
  }

  /** The JSON document of this approval. */
  public byte[] encode() {
    return Json.encode(document());
  }

  /** The JSON form of this approval. */
  public Document document() {
    List<SignatureDocument> sigs =
        signatures.stream()
            .map(
                s ->
                    new SignatureDocument(
                        Base64Url.encode(s.approver()), Base64Url.encode(s.signature())))
            .toList();
    return new Document(new String(statement.encode(), StandardCharsets.US_ASCII), sigs);
  }

  /** This approval with one more signature. */
  public ImageApproval withSignature(Signature s) {
    List<Signature> more = new ArrayList<>(signatures);
    more.add(s);
    return new ImageApproval(statement, more);
  }
}
