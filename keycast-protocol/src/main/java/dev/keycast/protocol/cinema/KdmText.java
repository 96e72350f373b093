package dev.keycast.protocol.cinema;

/**
 * The rule for free text a sender puts into a KDM (the content title, the annotation): every
 * character must be one XML 1.0 allows (section 2.2, production Char), and none a control
 * character. A title holding U+FFFE, U+FFFF or a lone surrogate would otherwise be signed into a
 * KDM that no XML parser reads, so no media block could use it.
 */
public final class KdmText {
  private KdmText() {}

  /** True when {@code s} may be written as KDM text: no control character, only XML 1.0 characters. */
  public static boolean isWritable(String s) {
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      if (Character.isISOControl(cp)
          || cp == 0xFFFE
          || cp == 0xFFFF
          || (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE)) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return true;
  }
}
