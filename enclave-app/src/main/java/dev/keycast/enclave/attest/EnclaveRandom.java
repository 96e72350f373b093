package dev.keycast.enclave.attest;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
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
 *       at instantiation and on {@link SP800SecureRandom#reseed(byte[])}, never on
 *       {@code /dev/random}.
 *   <li><b>Seed.</b> At creation: 32 bytes of entropy input and a 16-byte nonce from
 *       {@code GetRandom}; the personalization string names Keycast and the creation time.
 *   <li><b>Reseed source.</b> {@code reseed(additionalInput)} pulls 32 fresh bytes from
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
  public static SP800SecureRandom seededFromNsm(NsmClient nsm) throws AttestationException {
    Objects.requireNonNull(nsm, "nsm");
    NsmEntropy entropy = new NsmEntropy(nsm);
    byte[] nonce;
    try {
      nonce = entropy.take(NONCE_BYTES);
    } catch (NsmDeviceException | NsmException | MalformedInputException e) {
      throw new AttestationException("cannot seed the enclave DRBG from NSM GetRandom", e);
    }
    try {
      return build(bits -> entropy.source(bits), nonce);
    } catch (IllegalStateException e) {
      throw new AttestationException("cannot seed the enclave DRBG from NSM GetRandom", e.getCause());
    }
  }

  /** A DRBG seeded from the operating system's non-blocking source (mock-enclave mode). */
  public static SP800SecureRandom seededFromOs() {
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

  private static SP800SecureRandom build(EntropySourceProvider provider, byte[] nonce) {
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
      return random;
    } finally {
      Arrays.fill(nonce, (byte) 0);
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
            throw new IllegalStateException("NSM GetRandom failed while (re)seeding the enclave DRBG", e);
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
