package dev.keycast.protocol;

/**
 * The secret id of a send policy (wire-format section 7), which the sealed secret format carries
 * too: 1..{@value #MAX_LENGTH} characters of {@code [A-Za-z0-9._:-]}. One definition for both.
 */
public final class SecretIds {
  /** Longest secret id, in characters (= bytes: the alphabet is ASCII). */
  public static final int MAX_LENGTH = 128;

  /** The rule, as error messages state it. */
  public static final String RULE = "1..128 characters of [A-Za-z0-9._:-]";

  private static final TokenSyntax SYNTAX = TokenSyntax.of("A-Za-z0-9._:-", 1, MAX_LENGTH);

  private SecretIds() {}

  /** True when {@code id} is a valid secret id ({@link #RULE}); false for null. */
  public static boolean isWellFormed(String id) {
    return SYNTAX.matches(id);
  }
}
