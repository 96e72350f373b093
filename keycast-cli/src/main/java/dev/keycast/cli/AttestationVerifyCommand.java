package dev.keycast.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.AttestationDocument;
import dev.keycast.protocol.attestation.AttestationException;
import dev.keycast.protocol.attestation.AttestationParser;
import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.ValidationTime;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.attestation.VerifiedAttestation;
import dev.keycast.protocol.attestation.VerifiedAttestation.Warning;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code keycast attestation verify}: decode, print and verify one attestation document. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Decode an AWS Nitro Enclaves attestation document (raw CBOR or base64), print it, and verify it:"
          + " ES384 COSE signature, certificate chain to a pinned root (the AWS Nitro root unless"
          + " --trust-root adds another), validity, freshness, debug mode, PCRs, nonce.",
      "Exits 0 only when every check passes; otherwise prints one line on stderr:"
          + " 'attestation verify: <REASON>: <details>'."
    },
    footer = ExitCodes.HELP)
public final class AttestationVerifyCommand implements Callable<Integer> {
  static final String PREFIX = "attestation verify: ";
  private static final int MAX_INPUT_BYTES = 64 * 1024;

  @Spec CommandSpec spec;

  @Option(
      names = "--document",
      required = true,
      paramLabel = "FILE",
      description =
          "The attestation document: raw CBOR (COSE_Sign1) or base64 of it ('-' for stdin).")
  String document;

  @Option(
      names = "--at",
      paramLabel = "INSTANT",
      description =
          "Validate at this ISO-8601 instant (e.g. 2024-09-07T14:37:39Z) instead of now;"
              + " 'document' validates at the document's own timestamp without a freshness check (audit).")
  String at;

  @Option(
      names = "--max-age",
      paramLabel = "DURATION",
      defaultValue = "5m",
      description =
          "Maximum document age: 30s, 5m, 2h, 1d or ISO-8601 (PT5M). Default: ${DEFAULT-VALUE}.")
  String maxAge;

  @Option(
      names = "--expect-pcrs",
      paramLabel = "FILE",
      description =
          "Allowed PCR sets: Keycast JSON {\"version\":1,\"allowed\":[{\"PCR0\":...}]} or"
              + " nitro-cli build output {\"Measurements\":{...}}. Without it PCRs are printed, not checked.")
  Path expectPcrs;

  @Option(
      names = "--allow-debug",
      description = "Accept debug-mode documents (PCR0 all zeros). Never for production secrets.")
  boolean allowDebug;

  @Option(
      names = "--trust-root",
      paramLabel = "PEM",
      description =
          "Also trust this root certificate (PEM or DER file), e.g. a mock-enclave root."
              + " Prints a warning. Repeatable.")
  List<Path> trustRoots = new ArrayList<>();

  @Option(names = "--nonce", paramLabel = "HEX", description = "Require this nonce (hex).")
  String nonce;

  @Option(names = "--user-data", paramLabel = "HEX", description = "Require this user_data (hex).")
  String userData;

  @Option(
      names = "--public-key",
      paramLabel = "HEX",
      description = "Require this public_key (hex).")
  String publicKey;

  @Option(names = "--json", description = "Print the decoded document and the result as JSON.")
  boolean json;

  /** A usage problem found after parsing: exit 2 with one line. */
  private static final class UsageProblem extends Exception {
    UsageProblem(String m) {
      super(m);
    }
  }

  /** An I/O problem: exit 3 with one line. */
  private static final class IoProblem extends Exception {
    IoProblem(String m) {
      super(m);
    }
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    byte[] doc;
    VerificationPolicy policy;
    try {
      policy = buildPolicy();
      doc = decodeInput(readFile(document, MAX_INPUT_BYTES));
    } catch (UsageProblem e) {
      err.println(PREFIX + "usage: " + e.getMessage());
      err.flush();
      return ExitCodes.USAGE;
    } catch (IoProblem e) {
      err.println(PREFIX + "I/O: " + e.getMessage());
      err.flush();
      return ExitCodes.IO;
    }

    Optional<AttestationDocument> parsed;
    try {
      parsed = Optional.of(AttestationParser.parse(doc));
    } catch (MalformedInputException e) {
      parsed = Optional.empty();
    }
    VerifiedAttestation verified = null;
    AttestationException failure = null;
    try {
      verified = AttestationVerifier.create(policy).verify(doc);
    } catch (AttestationException e) {
      failure = e;
    }

    List<String> warnings = new ArrayList<>();
    for (TrustRoot r : policy.trustRoots()) {
      if (!r.isAws()) {
        warnings.add(
            "trusting a non-AWS root "
                + r.name()
                + " (sha256 "
                + r.sha256()
                + "): documents it signs prove nothing about AWS Nitro hardware");
      }
    }
    if (verified != null) {
      for (Warning w : verified.warnings()) {
        switch (w) {
          case PCRS_NOT_CHECKED ->
              warnings.add("PCRs not checked (no --expect-pcrs): any enclave image is accepted");
          case DEBUG_MODE ->
              warnings.add("debug-mode enclave (PCR0 all zeros) accepted because of --allow-debug");
          case FRESHNESS_NOT_CHECKED ->
              warnings.add("validated at the document timestamp: freshness not checked");
          case NON_AWS_ROOT ->
              warnings.add(
                  "the document chains to the non-AWS root " + verified.trustRoot().name());
        }
      }
    }

    if (json) {
      out.println(toJson(parsed, verified, failure, warnings));
    } else {
      parsed.ifPresent(d -> printDocument(out, d));
      for (String w : warnings) {
        out.println("WARNING: " + w);
      }
      if (verified != null) {
        out.println(
            "verified:    OK (root "
                + verified.trustRoot().name()
                + ", sha256 "
                + verified.trustRoot().sha256()
                + ", at "
                + verified.validatedAt()
                + ")");
      }
    }
    out.flush();
    if (failure != null) {
      err.println(PREFIX + failure.reason() + ": " + oneLine(failure.getMessage()));
      err.flush();
      return ExitCodes.VERIFICATION_FAILED;
    }
    return ExitCodes.OK;
  }

  private VerificationPolicy buildPolicy() throws UsageProblem, IoProblem {
    VerificationPolicy.Builder b = VerificationPolicy.builder();
    Duration age = parseDuration(maxAge);
    if (at == null) {
      b.validationTime(ValidationTime.now(age));
    } else if (at.equals("document")) {
      b.validationTime(ValidationTime.documentTimestamp());
    } else {
      try {
        b.validationTime(ValidationTime.at(Instant.parse(at), age));
      } catch (DateTimeParseException e) {
        throw new UsageProblem(
            "--at: \""
                + at
                + "\" is not an ISO-8601 instant (e.g. 2024-09-07T14:37:39Z) or 'document'");
      }
    }
    for (Path p : trustRoots) {
      try {
        b.addTrustRoot(
            TrustRoot.fromPem(p.getFileName().toString(), readFile(p.toString(), 64 * 1024)));
      } catch (MalformedInputException e) {
        throw new UsageProblem("--trust-root " + p + ": " + e.getMessage());
      }
    }
    if (expectPcrs != null) {
      try {
        b.expectedPcrs(
            ExpectedPcrs.parseJson(readFile(expectPcrs.toString(), ExpectedPcrs.MAX_FILE_BYTES)));
      } catch (MalformedInputException e) {
        throw new UsageProblem("--expect-pcrs " + expectPcrs + ": " + e.getMessage());
      }
    }
    b.allowDebug(allowDebug);
    if (nonce != null) {
      b.expectedNonce(hex("--nonce", nonce));
    }
    if (userData != null) {
      b.expectedUserData(hex("--user-data", userData));
    }
    if (publicKey != null) {
      b.expectedPublicKey(hex("--public-key", publicKey));
    }
    return b.build();
  }

  private static byte[] hex(String option, String value) throws UsageProblem {
    if (value.length() > 2 * AttestationParser.MAX_FIELD_BYTES
        || !value.matches("([0-9a-fA-F]{2})*")) {
      throw new UsageProblem(
          option
              + ": expected an even number of hex digits (at most "
              + AttestationParser.MAX_FIELD_BYTES
              + " bytes)");
    }
    return HexFormat.of().parseHex(value.toLowerCase(Locale.ROOT));
  }

  static Duration parseDuration(String s) throws UsageProblem {
    try {
      return Durations.parse("--max-age", s);
    } catch (CliException e) {
      throw new UsageProblem(e.getMessage());
    }
  }

  private byte[] readFile(String name, int max) throws IoProblem, UsageProblem {
    try (InputStream in = name.equals("-") ? System.in : Files.newInputStream(Path.of(name))) {
      byte[] data = in.readNBytes(max + 1);
      if (data.length > max) {
        throw new UsageProblem(name + ": larger than " + max + " bytes");
      }
      return data;
    } catch (IOException e) {
      throw new IoProblem(
          "cannot read " + name + ": " + e.getClass().getSimpleName() + " " + e.getMessage());
    }
  }

  /**
   * Raw CBOR when the first byte is a CBOR array (0x84) or tag 18 (0xd2) head; otherwise base64
   * (standard or URL-safe, whitespace ignored). Undecodable base64 is passed on as raw bytes, and
   * the verifier reports it as MALFORMED.
   */
  static byte[] decodeInput(byte[] data) {
    if (data.length > 0 && ((data[0] & 0xff) == 0x84 || (data[0] & 0xff) == 0xd2)) {
      return data;
    }
    String text =
        new String(data, java.nio.charset.StandardCharsets.US_ASCII).replaceAll("\\s", "");
    try {
      return text.indexOf('-') >= 0 || text.indexOf('_') >= 0
          ? Base64.getUrlDecoder().decode(text)
          : Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      return data;
    }
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("[\\r\\n]+", " ");
  }

  private static void printDocument(PrintWriter out, AttestationDocument d) {
    HexFormat hex = HexFormat.of();
    out.println("module_id:   " + d.moduleId());
    out.println("timestamp:   " + d.timestamp() + " (" + d.timestampMillis() + " ms)");
    out.println("digest:      " + d.digest());
    for (Map.Entry<Integer, byte[]> e : d.pcrs().entrySet()) {
      out.printf("PCR%-2d        %s%n", e.getKey(), hex.formatHex(e.getValue()));
    }
    out.println("public_key:  " + field(d.publicKey()));
    out.println("user_data:   " + field(d.userData()));
    out.println("nonce:       " + field(d.nonce()));
    out.println("certificate: " + describeCertificate(d.certificate()));
    List<byte[]> bundle = d.cabundle();
    for (int i = 0; i < bundle.size(); i++) {
      out.println("cabundle[" + i + "]: " + describeCertificate(bundle.get(i)));
    }
  }

  private static String field(Optional<byte[]> v) {
    if (v.isEmpty()) {
      return "null";
    }
    byte[] b = v.get();
    return b.length + " bytes" + (b.length == 0 ? "" : " " + MalformedInputException.quote(b, 32));
  }

  private static String describeCertificate(byte[] der) {
    Optional<X509Certificate> c = certificate(der);
    String sha = HexFormat.of().formatHex(sha256(der));
    if (c.isEmpty()) {
      return "unparseable (" + der.length + " bytes, sha256 " + sha + ")";
    }
    X509Certificate x = c.get();
    return x.getSubjectX500Principal().getName()
        + "; valid "
        + x.getNotBefore().toInstant()
        + " .. "
        + x.getNotAfter().toInstant()
        + "; sha256 "
        + sha;
  }

  private static Optional<X509Certificate> certificate(byte[] der) {
    try {
      return Optional.of(
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new java.io.ByteArrayInputStream(der)));
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  private static byte[] sha256(byte[] b) {
    return dev.keycast.protocol.crypto.Sha256.digest(b);
  }

  private static String toJson(
      Optional<AttestationDocument> parsed,
      VerifiedAttestation verified,
      AttestationException failure,
      List<String> warnings) {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode root = mapper.createObjectNode();
    root.put("verified", verified != null);
    if (failure != null) {
      root.put("reason", failure.reason().name());
      root.put("message", failure.getMessage());
    }
    if (verified != null) {
      root.put("trustRoot", verified.trustRoot().name());
      root.put("trustRootSha256", verified.trustRoot().sha256());
      root.put("validatedAt", verified.validatedAt().toString());
    }
    ArrayNode w = root.putArray("warnings");
    warnings.forEach(w::add);
    parsed.ifPresent(
        d -> {
          HexFormat hex = HexFormat.of();
          ObjectNode doc = root.putObject("document");
          doc.put("moduleId", d.moduleId());
          doc.put("timestamp", d.timestamp().toString());
          doc.put("timestampMillis", d.timestampMillis());
          doc.put("digest", d.digest());
          ObjectNode pcrs = doc.putObject("pcrs");
          d.pcrs().forEach((k, v) -> pcrs.put(Integer.toString(k), hex.formatHex(v)));
          d.publicKey()
              .ifPresentOrElse(
                  v -> doc.put("publicKey", hex.formatHex(v)), () -> doc.putNull("publicKey"));
          d.userData()
              .ifPresentOrElse(
                  v -> doc.put("userData", hex.formatHex(v)), () -> doc.putNull("userData"));
          d.nonce()
              .ifPresentOrElse(v -> doc.put("nonce", hex.formatHex(v)), () -> doc.putNull("nonce"));
          ArrayNode chain = doc.putArray("chain");
          List<byte[]> all = new ArrayList<>();
          all.add(d.certificate());
          all.addAll(d.cabundle());
          for (int i = 0; i < all.size(); i++) {
            ObjectNode c = chain.addObject();
            c.put("field", i == 0 ? "certificate" : "cabundle[" + (i - 1) + "]");
            c.put("sha256", hex.formatHex(sha256(all.get(i))));
            certificate(all.get(i))
                .ifPresent(
                    x -> {
                      c.put("subject", x.getSubjectX500Principal().getName());
                      c.put("notBefore", x.getNotBefore().toInstant().toString());
                      c.put("notAfter", x.getNotAfter().toInstant().toString());
                    });
          }
        });
    try {
      return mapper.writeValueAsString(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
