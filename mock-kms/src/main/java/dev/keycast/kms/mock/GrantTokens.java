package dev.keycast.kms.mock;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The mock's grant tokens: opaque to callers (as in KMS), here {@code base64url(key-id "/"
 * grant-id "/" nonce)}. Grants take effect at once in the mock, so a token only has to be one the
 * mock issued; KMS uses it to bridge eventual consistency.
 */
final class GrantTokens {
  private static final Pattern SHAPE =
      Pattern.compile(
          "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/([0-9a-f]{64})/[0-9a-f]{32}");

  record Parsed(String keyId, String grantId) {}

  private GrantTokens() {}

  static String issue(String keyId, String grantId, SecureRandom random) {
    byte[] nonce = new byte[16];
    random.nextBytes(nonce);
    String raw = keyId + "/" + grantId + "/" + java.util.HexFormat.of().formatHex(nonce);
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(raw.getBytes(StandardCharsets.US_ASCII));
  }

  static Optional<Parsed> grantIdOf(String token) {
    if (token.length() > 8192) {
      return Optional.empty();
    }
    String raw;
    try {
      raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.US_ASCII);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    var m = SHAPE.matcher(raw);
    return m.matches() ? Optional.of(new Parsed(m.group(1), m.group(2))) : Optional.empty();
  }
}
