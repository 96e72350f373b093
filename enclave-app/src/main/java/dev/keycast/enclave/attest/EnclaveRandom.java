package dev.keycast.enclave.attest;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.AttesterException;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.SecureRandomParameters;
import java.security.SecureRandomSpi;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.prng.EntropySource;
import org.bouncycastle.crypto.prng.EntropySourceProvider;
import org.bouncycastle.crypto.prng.SP800SecureRandom;
import org.bouncycastle.crypto.prng.SP800SecureRandomBuilder;

/**
 * The enclave's {@link SecureRandom}: an NIST SP 800-90A Hash_DRBG (SHA-512, 256-bit security
 * strength, BouncyCastle) whose entropy input comes from the NSM's {@code GetRandom}.
 *
 * <ul>
 *   <li><b>Never blocks.</b> Generating bytes runs the DRBG only; the entropy source is consulted
 *       at instantiation and on reseed, never on
 *       {@code /dev/random}. Requests of any size are served (BouncyCastle's limit of 32 KiB per
 *       DRBG call is handled by splitting the request).
 *   <li><b>Seed.</b> {@code setSeed(bytes)} reseeds with fresh entropy and {@code bytes} as
 *       additional input (it never replaces the state).
 *   <li><b>Initial seed.</b> At creation: 32 bytes of entropy input and a 16-byte nonce from
 *       {@code GetRandom}; the personalization string names Keycast and the creation time.
 *   <li><b>Reseed source.</b> {@link SecureRandom#reseed()} pulls 32 fresh bytes from
 *       {@code GetRandom}; without an explicit reseed the DRBG's own reseed interval
 *       (2<sup>47</sup> requests) applies. An NSM failure during a reseed surfaces as an
 *       {@link IllegalStateException} (the enclave cannot continue without entropy).
 *   <li><b>Mock mode</b> ({@link #seededFromOs()}): the same DRBG, with entropy from the OS's
 *       non-blocking source ({@code NativePRNGNonBlocking}, i.e. {@code /dev/urandom}).
 * </ul>
 *
 * <p>The returned object is thread-safe (BouncyCastle synchronises the DRBG).
 */
public final class EnclaveRandom {
  private static final int STRENGTH_BITS = 256;
  private static final int NONCE_BYTES = 16;

  private EnclaveRandom() {}

  /** A DRBG seeded and reseeded from the NSM. Calls {@code GetRandom} at least twice now. */
  public static SecureRandom seededFromNsm(NsmClient nsm) throws AttesterException {
    Objects.requireNonNull(nsm, "nsm");
    NsmEntropy entropy = new NsmEntropy(nsm);
    byte[] nonce;
    try {
      nonce = entropy.take(NONCE_BYTES);
    } catch (NsmDeviceException | NsmException | MalformedInputException e) {
      throw new AttesterException("cannot seed the enclave DRBG from NSM GetRandom", e);
    }
    try {
      return build(bits -> entropy.source(bits), nonce);
    } catch (IllegalStateException e) {
      throw new AttesterException("cannot seed the enclave DRBG from NSM GetRandom", e.getCause());
    }
  }

  /** A DRBG seeded from the operating system's non-blocking source (mock-enclave mode). */
  public static SecureRandom seededFromOs() {
    SecureRandom os;
    try {
      os = SecureRandom.getInstance("NativePRNGNonBlocking");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no NativePRNGNonBlocking (not Linux?)", e);
    }
    byte[] nonce = new byte[NONCE_BYTES];
    os.nextBytes(nonce);
    return build(
        bits ->
            new EntropySource() {
              @Override
              public boolean isPredictionResistant() {
                return true;
              }

              @Override
              public byte[] getEntropy() {
                byte[] b = new byte[(bits + 7) / 8];
                os.nextBytes(b);
                return b;
              }

              @Override
              public int entropySize() {
                return bits;
              }
            },
        nonce);
  }

  private static SecureRandom build(EntropySourceProvider provider, byte[] nonce) {
    byte[] personalization =
        ("keycast enclave DRBG " + System.nanoTime() + " " + System.currentTimeMillis())
            .getBytes(StandardCharsets.US_ASCII);
    try {
      SP800SecureRandom random =
          new SP800SecureRandomBuilder(provider)
              .setSecurityStrength(STRENGTH_BITS)
              .setEntropyBitsRequired(STRENGTH_BITS)
              .setPersonalizationString(personalization)
              .buildHash(new SHA512Digest(), nonce, false);
      // BouncyCastle instantiates the DRBG (and pulls its entropy input) on first use: do it now,
      // so the NSM is consulted at start and a failure surfaces here, not on a request path.
      random.nextBytes(new byte[1]);
      return new EnclaveSecureRandom(new ChunkingSpi(random));
    } finally {
      Arrays.fill(nonce, (byte) 0);
    }
  }

  /** Largest request per DRBG call: BouncyCastle allows 2^18 bits (32 KiB). */
  private static final int MAX_BYTES_PER_CALL = 1 << 15;

  /** The public face: a {@link SecureRandom} over {@link ChunkingSpi}. */
  private static final class EnclaveSecureRandom extends SecureRandom {
    private static final long serialVersionUID = 1L;

    EnclaveSecureRandom(ChunkingSpi spi) {
      super(
          spi,
          new Provider(
              "KeycastEnclaveDrbg",
              "1",
              "SP 800-90A Hash_DRBG (BouncyCastle) seeded from the NSM or the OS") {
            private static final long serialVersionUID = 1L;
          });
    }

    @Override
    public String getAlgorithm() {
      return "Hash_DRBG/SHA-512";
    }
  }

  /** Delegates to the BouncyCastle DRBG, splitting large requests. */
  private static final class ChunkingSpi extends SecureRandomSpi {
    private static final long serialVersionUID = 1L;
    private final transient SP800SecureRandom drbg;

    ChunkingSpi(SP800SecureRandom drbg) {
      this.drbg = drbg;
    }

    @Override
    protected void engineSetSeed(byte[] seed) {
      drbg.reseed(seed.clone());
    }

    @Override
    protected void engineNextBytes(byte[] bytes) {
      if (bytes.length <= MAX_BYTES_PER_CALL) {
        drbg.nextBytes(bytes);
        return;
      }
      byte[] chunk = new byte[MAX_BYTES_PER_CALL];
      for (int off = 0; off < bytes.length; off += MAX_BYTES_PER_CALL) {
        int n = Math.min(MAX_BYTES_PER_CALL, bytes.length - off);
        if (n < chunk.length) {
          chunk = new byte[n];
        }
        drbg.nextBytes(chunk);
        System.arraycopy(chunk, 0, bytes, off, n);
      }
      Arrays.fill(chunk, (byte) 0);
    }

    @Override
    protected void engineReseed(SecureRandomParameters params) {
      drbg.reseed((byte[]) null);
    }

    @Override
    protected byte[] engineGenerateSeed(int numBytes) {
      return drbg.generateSeed(numBytes);
    }
  }

  /** Gathers entropy from as many GetRandom calls as needed. */
  private static final class NsmEntropy {
    private final NsmClient nsm;

    NsmEntropy(NsmClient nsm) {
      this.nsm = nsm;
    }

    byte[] take(int n) throws NsmDeviceException, NsmException, MalformedInputException {
      byte[] out = new byte[n];
      int filled = 0;
      while (filled < n) {
        byte[] r = nsm.getRandom();
        int k = Math.min(r.length, n - filled);
        System.arraycopy(r, 0, out, filled, k);
        filled += k;
        Arrays.fill(r, (byte) 0);
      }
      return out;
    }

    EntropySource source(int bits) {
      return new EntropySource() {
        @Override
        public boolean isPredictionResistant() {
          return true;
        }

        @Override
        public byte[] getEntropy() {
          try {
            return take((bits + 7) / 8);
          } catch (NsmDeviceException | NsmException | MalformedInputException e) {
            throw new IllegalStateException(
                "NSM GetRandom failed while (re)seeding the enclave DRBG", e);
          }
        }

        @Override
        public int entropySize() {
          return bits;
        }
      };
    }
  }
}
