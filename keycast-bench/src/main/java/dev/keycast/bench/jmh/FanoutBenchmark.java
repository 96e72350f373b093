package dev.keycast.bench.jmh;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.send.SealedSendPayload;
import dev.keycast.protocol.send.SendPayloadOpener;
import dev.keycast.protocol.send.SendPayloadParameters;
import dev.keycast.protocol.send.SendPayloadSealer;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The per-recipient cost of a fan-out: one delivery (metadata + a 32-byte secret) sealed to one
 * pre-parsed recipient key through {@link DeliveryFormat#seal}, as the enclave's send engine does
 * it. Run with {@code -t 1} and {@code -t 2}; {@code scripts/bench-fanout} compares the rates with
 * {@code openssl speed} measured in the same run.
 *
 * <p>{@code backend} selects the public-key primitives ({@code java}: SunJCE RSA-OAEP and
 * BouncyCastle X25519; {@code openssl}: libcrypto through FFM); everything else is the same code.
 *
 * <p>Each thread has its own recipient keys and {@link SecureRandom} (the engine shares one format
 * instance, which is stateless).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class FanoutBenchmark {

  /** A realistic delivery: 32-byte content key, typical metadata. */
  @State(Scope.Thread)
  public static class Recipients {
    /** The public-key backend ({@code dev.keycast.protocol.crypto}): pure Java or OpenSSL. */
    @Param({"java", "openssl"})
    String backend;

    CmsDeliveryFormat cmsGcm;
    CmsDeliveryFormat cmsCbc;
    HpkeDeliveryFormat hpke;
    SecureRandom random;
    byte[] secret;
    RecipientKey rsa;
    RecipientKey x25519;
    DeliveryMetadata rsaMetadata;
    DeliveryMetadata x25519Metadata;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      CryptoBackend b = CryptoBackends.forSetting(backend);
      cmsGcm = CmsDeliveryFormat.AES_256_GCM.withBackend(b);
      cmsCbc = CmsDeliveryFormat.AES_256_CBC.withBackend(b);
      hpke = HpkeDeliveryFormat.INSTANCE.withBackend(b);
      random = new SecureRandom();
      secret = new byte[32];
      random.nextBytes(secret);
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, random);
      rsa = RecipientKeys.parse(g.generateKeyPair().getPublic().getEncoded());
      x25519 = new X25519RecipientKey(X25519PrivateKey.generate(random).publicKey());
      Instant nb = Instant.parse("2026-01-01T00:00:00Z");
      Instant na = Instant.parse("2027-01-01T00:00:00Z");
      DeliveryMetadata m =
          DeliveryMetadata.of(
              "film-2026-0042.cpl:reel-1",
              "Example Studio distribution",
              nb,
              na,
              rsa.fingerprint());
      rsaMetadata = m;
      x25519Metadata = m.withRecipient(x25519.fingerprint());
    }
  }

  @Benchmark
  public byte[] cmsAes256Gcm(Recipients r) {
    return r.cmsGcm.seal(r.rsa, r.rsaMetadata, r.secret, r.random);
  }

  @Benchmark
  public byte[] cmsAes256Cbc(Recipients r) {
    return r.cmsCbc.seal(r.rsa, r.rsaMetadata, r.secret, r.random);
  }

  @Benchmark
  public byte[] hpkeX25519(Recipients r) {
    return r.hpke.seal(r.x25519, r.x25519Metadata, r.secret, r.random);
  }

  /** A sender's payload to the enclave, sealed once; opened once per send. */
  @State(Scope.Thread)
  public static class SendPayload {
    @Param({"java", "openssl"})
    String backend;

    SendPayloadOpener opener;
    byte[] policy;
    SealedSendPayload sealed;

    @Setup(Level.Trial)
    public void setUp() throws MalformedInputException {
      SecureRandom random = new SecureRandom();
      X25519PrivateKey receiveKey = X25519PrivateKey.generate(random);
      SendPayloadParameters parameters =
          SendPayloadParameters.v1("ks-0123456789abcdef0123456789abcdef");
      opener = SendPayloadOpener.create(parameters, CryptoBackends.forSetting(backend), receiveKey);
      // A policy with one fingerprint: the HPKE AAD of a small send (about 300 bytes).
      policy =
          ("{\"version\":1,\"secret_id\":\"film-2026-0042.cpl\",\"sender\":\"Example Studio\","
                  + "\"not_before\":\"2026-01-01T00:00:00Z\",\"not_after\":\"2027-01-01T00:00:00Z\","
                  + "\"recipients\":{\"fingerprints\":[\""
                  + "ab".repeat(32)
                  + "\"]},"
                  + "\"late_recipients\":false,\"max_recipients\":1,\"rsa_content\":\"aes-256-gcm\"}")
              .getBytes(StandardCharsets.UTF_8);
      byte[] secret = new byte[32];
      random.nextBytes(secret);
      sealed =
          SendPayloadSealer.create(parameters, receiveKey.publicKey().toRaw())
              .seal(policy, secret, random);
    }
  }

  @Benchmark
  public byte[] hpkeOpenSendPayload(SendPayload p) throws DecryptionFailedException {
    return p.opener.open(p.policy, p.sealed.enc(), p.sealed.ciphertext());
  }
}
