package dev.keycast.protocol.keyset;

import java.util.Random;

/** Exposes the mutation operator of {@link MutationFuzzTest} to other test packages. */
public final class MutationFuzzTestAccess {
  private MutationFuzzTestAccess() {}

  public static byte[] mutate(byte[] golden, Random rnd) {
    return MutationFuzzTest.mutate(golden, rnd);
  }
}
