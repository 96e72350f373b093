package dev.keycast.kms.mock;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies AWS Signature Version 4 ({@code Authorization: AWS4-HMAC-SHA256 ...}) for service
 * {@code kms} in one configured region against static credentials. Signatures are compared in
 * constant time.
 */
final class SigV4Verifier {
  private static final String ALGORITHM = "AWS4-HMAC-SHA256";
  private static final Pattern AUTH =
      Pattern.compile(
          "AWS4-HMAC-SHA256\\s+Credential=([^,\\s]+)\\s*,\\s*SignedHeaders=([^,\\s]+)\\s*,\\s*Signature=([0-9a-fA-F]{64})\\s*");
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");
  private static final Pattern SPACES = Pattern.compile("\\s+");

  private final Map<String, StaticCredential> credentials;
  private final String region;
  private final Duration skew;
  private final Clock clock;

  SigV4Verifier(List<StaticCredential> creds, String region, Duration skew, Clock clock) {
    Map<String, StaticCredential> m = new HashMap<>();
    for (StaticCredential c : creds) {
      m.put(c.accessKeyId(), c);
    }
    this.credentials = Map.copyOf(m);
    this.region = region;
    this.skew = skew;
    this.clock = clock;
  }

  /**
   * Verifies one request.
   *
   * @param header looks up a request header by (case-insensitive) name; returns all its values
   * @return the credential that signed the request
   */
  StaticCredential verify(
      String method,
      String rawPath,
      String rawQuery,
      Function<String, List<String>> header,
      byte[] body)
      throws KmsException {
    String auth = first(header, "authorization");
    if (auth == null) {
      throw KmsException.missingAuthentication();
    }
    Matcher m = AUTH.matcher(auth);
    if (!m.matches()) {
      throw KmsException.incompleteSignature(
          "Authorization header is not a well-formed AWS4-HMAC-SHA256 signature");
    }
    String[] scope = m.group(1).split("/", -1);
    if (scope.length != 5) {
      throw KmsException.incompleteSignature(
          "Credential must be AKID/date/region/service/aws4_request");
    }
    StaticCredential cred = credentials.get(scope[0]);
    if (cred == null) {
      throw KmsException.unrecognizedClient();
    }
    String token = first(header, "x-amz-security-token");
    if (cred.sessionToken().isPresent()) {
      if (token == null
          || !MessageDigest.isEqual(
              token.getBytes(StandardCharsets.UTF_8),
              cred.sessionToken().get().getBytes(StandardCharsets.UTF_8))) {
        throw KmsException.unrecognizedClient();
      }
    } else if (token != null) {
      throw KmsException.unrecognizedClient();
    }
    String amzDate = first(header, "x-amz-date");
    if (amzDate == null) {
      throw KmsException.incompleteSignature("X-Amz-Date header is required");
    }
    Instant when;
    try {
      when = LocalDateTime.parse(amzDate, AMZ_DATE).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw KmsException.incompleteSignature(
          "X-Amz-Date is not yyyyMMddTHHmmssZ: " + quote(amzDate));
    }
    if (!scope[1].equals(amzDate.substring(0, 8))) {
      throw KmsException.invalidSignature("Credential date does not match X-Amz-Date");
    }
    if (!scope[2].equals(region)) {
      throw KmsException.invalidSignature(
          "Credential should be scoped to a valid region, not '" + quote(scope[2]) + "'");
    }
    if (!scope[3].equals("kms") || !scope[4].equals("aws4_request")) {
      throw KmsException.invalidSignature("Credential should be scoped to the service 'kms'");
    }
    Instant now = clock.instant();
    if (Duration.between(when, now).abs().compareTo(skew) > 0) {
      throw KmsException.invalidSignature(
          "Signature expired: "
              + amzDate
              + " is not within "
              + skew.toMinutes()
              + " minutes of "
              + AMZ_DATE.format(now.atOffset(ZoneOffset.UTC)));
    }
    List<String> signed = Arrays.asList(m.group(2).split(";", -1));
    if (!signed.contains("host")
        || signed.stream().anyMatch(h -> !h.equals(h.toLowerCase(Locale.ROOT)))
        || !isSorted(signed)) {
      throw KmsException.incompleteSignature(
          "SignedHeaders must be sorted, lower-case and include host");
    }
    String payloadHash = hex(sha256(body));
    String declared = first(header, "x-amz-content-sha256");
    if (declared != null && !declared.equalsIgnoreCase(payloadHash)) {
      throw KmsException.invalidSignature("x-amz-content-sha256 does not match the request body");
    }
    StringBuilder canonical = new StringBuilder();
    canonical.append(method).append('\n');
    canonical.append(canonicalUri(rawPath)).append('\n');
    canonical.append(canonicalQuery(rawQuery)).append('\n');
    for (String h : signed) {
      List<String> values = header.apply(h);
      if (values == null || values.isEmpty()) {
        throw KmsException.invalidSignature("signed header is missing: " + quote(h));
      }
      List<String> trimmed = new ArrayList<>();
      for (String v : values) {
        trimmed.add(SPACES.matcher(v.strip()).replaceAll(" "));
      }
      canonical.append(h).append(':').append(String.join(",", trimmed)).append('\n');
    }
    canonical.append('\n').append(m.group(2)).append('\n').append(payloadHash);
    String credentialScope = scope[1] + "/" + scope[2] + "/" + scope[3] + "/" + scope[4];
    String stringToSign =
        ALGORITHM
            + "\n"
            + amzDate
            + "\n"
            + credentialScope
            + "\n"
            + hex(sha256(canonical.toString().getBytes(StandardCharsets.UTF_8)));
    byte[] expected;
    byte[] kSecret = ("AWS4" + cred.secretAccessKey()).getBytes(StandardCharsets.UTF_8);
    byte[] kDate = hmac(kSecret, scope[1]);
    byte[] kRegion = hmac(kDate, scope[2]);
    byte[] kService = hmac(kRegion, scope[3]);
    byte[] kSigning = hmac(kService, scope[4]);
    expected = hmac(kSigning, stringToSign);
    Arrays.fill(kSecret, (byte) 0);
    Arrays.fill(kDate, (byte) 0);
    Arrays.fill(kRegion, (byte) 0);
    Arrays.fill(kService, (byte) 0);
    Arrays.fill(kSigning, (byte) 0);
    byte[] given = HexFormat.of().parseHex(m.group(3).toLowerCase(Locale.ROOT));
    if (!MessageDigest.isEqual(expected, given)) {
      throw KmsException.invalidSignature(
          "The request signature we calculated does not match the signature you provided.");
    }
    return cred;
  }

  private static boolean isSorted(List<String> l) {
    for (int i = 1; i < l.size(); i++) {
      if (l.get(i - 1).compareTo(l.get(i)) >= 0) {
        return false;
      }
    }
    return true;
  }

  private static String first(Function<String, List<String>> header, String name) {
    List<String> v = header.apply(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  static String canonicalUri(String rawPath) {
    if (rawPath == null || rawPath.isEmpty()) {
      return "/";
    }
    // Non-S3 services encode each path segment twice: once on the wire, once more here.
    StringBuilder sb = new StringBuilder();
    String[] segs = rawPath.split("/", -1);
    for (int i = 0; i < segs.length; i++) {
      if (i > 0) {
        sb.append('/');
      }
      sb.append(uriEncode(segs[i]));
    }
    return sb.toString();
  }

  static String canonicalQuery(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) {
      return "";
    }
    List<String[]> pairs = new ArrayList<>();
    for (String p : rawQuery.split("&")) {
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      String k = eq < 0 ? p : p.substring(0, eq);
      String v = eq < 0 ? "" : p.substring(eq + 1);
      pairs.add(new String[] {uriEncode(decode(k)), uriEncode(decode(v))});
    }
    pairs.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
    StringBuilder sb = new StringBuilder();
    for (String[] p : pairs) {
      if (!sb.isEmpty()) {
        sb.append('&');
      }
      sb.append(p[0]).append('=').append(p[1]);
    }
    return sb.toString();
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }

  /** RFC 3986 encoding as SigV4 defines it: unreserved characters stay, all else is %XX. */
  static String uriEncode(String s) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_'
          || c == '.'
          || c == '~') {
        sb.append(c);
      } else {
        sb.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return sb.toString();
  }

  private static String quote(String s) {
    String t = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    return t.replaceAll("[^\\x20-\\x7e]", "?");
  }

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
