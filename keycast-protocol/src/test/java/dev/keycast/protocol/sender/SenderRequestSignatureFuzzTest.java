package dev.keycast.protocol.sender;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Coverage-guided fuzz target for {@link SenderRequestSignature#verify}: the {@code Authorization:
 * Keycast-Sender ...} header anyone can put on a request to the host's screen and KDM routes
 * ({@code POST /v1/screens}, {@code GET /v1/cinemas/.../kdms}, ...), with the method, target and
 * body it claims to sign.
 *
 * <p>Input: the header value (ISO-8859-1, as HTTP carries it), a line feed, the method, a line
 * feed, the request-target, a line feed, then the body (all of the rest). The golden seed is the
 * header of a request signed by {@link #SENDER} (RFC 8032 seed {@code 0x11} x 32) at {@link #NOW}
 * (made with Python's {@code cryptography} from the spec, so the seed also pins the encoding).
 *
 * <p>Contract: only {@link SenderRequestSignature.Refused} escapes, with one of the four codes the
 * method documents and a message that does not echo the signature; allocation stays linear in the
 * input; a request that verifies is re-checked independently: the JDK's own Ed25519 verifier
 * ({@code Signature("Ed25519")}, not Bouncy Castle's) accepts the signature over the message
 * rebuilt from the spec (wire-format.md 8.7), the timestamp is within the window, the key returned
 * is the one the header names and is an allowed key; since only {@link #SENDER} ever signed, it
 * is {@link #SENDER}, over the golden request.
 */
class SenderRequestSignatureFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 64;
  static final SenderSigningKey SENDER = SenderSigningKey.fromSeed(filled(0x11));

  /** A second allowed sender that never signs anything here. */
  static final SenderKey OTHER = SenderSigningKey.fromSeed(filled(0x22)).publicKey();

  static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");

  /** The two requests {@link #SENDER} signed for the seeds: POST of {@link #BODY}, and a GET. */
  static final String TARGET = "/v1/screens";

  static final String GET_TARGET = "/v1/cinemas/Rex/kdms";
  static final byte[] BODY =
      "{\"cinema\":\"Rex\",\"label\":\"1\",\"chain\":[]}".getBytes(StandardCharsets.UTF_8);
  private static final Set<ErrorCode> CODES =
      Set.of(
          ErrorCode.SENDER_REQUIRED,
          ErrorCode.SENDER_SIGNATURE_INVALID,
          ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW,
          ErrorCode.SENDER_UNKNOWN);

  @FuzzTest
  void verify(byte[] input) throws Exception {
    String[] parts = split(input);
    String header = parts[0].isEmpty() ? null : parts[0];
    String method = parts[1];
    String target = parts[2];
    byte[] body = parts[3].getBytes(StandardCharsets.ISO_8859_1);
    Outcome<SenderKey> out =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () ->
                SenderRequestSignature.verify(
                    header, method, target, body, NOW, List.of(OTHER, SENDER.publicKey())),
            SenderRequestSignature.Refused.class);
    if (!out.ok()) {
      SenderRequestSignature.Refused r = (SenderRequestSignature.Refused) out.error();
      assertThat(r.code()).isIn(CODES);
      assertThat(r.getMessage()).doesNotContainPattern("[A-Za-z0-9_-]{86}");
      return;
    }
    // Accepted: re-check with an independent reading of the header and another Ed25519 verifier.
    String[] fields = header.substring("Keycast-Sender ".length()).split(", ");
    byte[] key = Base64.getUrlDecoder().decode(fields[0].substring("key=".length()));
    long ts = Long.parseLong(fields[1].substring("ts=".length()));
    byte[] sig = Base64.getUrlDecoder().decode(fields[2].substring("sig=".length()));
    assertThat(Math.abs(NOW.getEpochSecond() - ts))
        .isLessThanOrEqualTo(SenderRequestSignature.WINDOW_SECONDS);
    assertThat(out.value().raw()).isEqualTo(key);
    assertThat(out.value()).isIn(OTHER, SENDER.publicKey());
    Signature v = Signature.getInstance("Ed25519", "SunEC");
    v.initVerify(jdkKey(key));
    v.update(specMessage(method, target, body, ts));
    assertThat(v.verify(sig)).as("the JDK's Ed25519 accepts what Keycast accepted").isTrue();
    assertThat(out.value()).isEqualTo(SENDER.publicKey());
    boolean goldenPost =
        method.equals("POST") && target.equals(TARGET) && Arrays.equals(body, BODY);
    boolean goldenGet = method.equals("GET") && target.equals(GET_TARGET) && body.length == 0;
    assertThat(goldenPost || goldenGet).as("only a request SENDER signed verifies").isTrue();
  }

  /** The signed message, built from wire-format.md 8.7 here rather than by the code under test. */
  private static byte[] specMessage(String method, String target, byte[] body, long ts)
      throws Exception {
    var b = new java.io.ByteArrayOutputStream();
    var d = new java.io.DataOutputStream(b);
    d.write("keycast/v1/sender-request".getBytes(StandardCharsets.US_ASCII));
    d.write(0);
    byte[] m = method.getBytes(StandardCharsets.US_ASCII);
    d.writeInt(m.length);
    d.write(m);
    byte[] t = target.getBytes(StandardCharsets.UTF_8);
    d.writeInt(t.length);
    d.write(t);
    d.write(java.security.MessageDigest.getInstance("SHA-256").digest(body));
    d.writeLong(ts);
    return b.toByteArray();
  }

  private static PublicKey jdkKey(byte[] raw) throws Exception {
    byte[] spki = HexFormat.of().parseHex("302a300506032b6570032100");
    byte[] der = Arrays.copyOf(spki, spki.length + raw.length);
    System.arraycopy(raw, 0, der, spki.length, raw.length);
    return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
  }

  /** Header, method, target (each up to a line feed) and body (the rest); missing parts are empty. */
  static String[] split(byte[] input) {
    String s = new String(input, StandardCharsets.ISO_8859_1);
    String[] out = {"", "", "", ""};
    int at = 0;
    for (int i = 0; i < 3; i++) {
      int nl = s.indexOf('\n', at);
      if (nl < 0) {
        out[i] = s.substring(at);
        return out;
      }
      out[i] = s.substring(at, nl);
      at = nl + 1;
    }
    out[3] = s.substring(at);
    return out;
  }

  private static byte[] filled(int b) {
    byte[] s = new byte[32];
    Arrays.fill(s, (byte) b);
    return s;
  }
}
