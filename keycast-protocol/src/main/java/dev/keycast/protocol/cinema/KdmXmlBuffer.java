package dev.keycast.protocol.cinema;

import java.util.Arrays;

/**
 * A growable UTF-8 byte buffer for {@link KdmWriter}: markup appended as it is, character data
 * escaped as inclusive XML canonicalization (C14N 1.0, section 2.3 "Text Nodes") writes it, so the
 * bytes written are their own canonical form. Reused from one KDM to the next; not thread-safe.
 *
 * <p>Character data: {@code &} as {@code &amp;}, {@code <} as {@code &lt;}, {@code >} as {@code
 * &gt;}, CR as {@code &#xD;}, everything else as UTF-8 (a supplementary character from its
 * surrogate pair). A lone surrogate has no UTF-8 form: {@link #text} refuses it ({@link
 * KdmText#isWritable} lets a caller refuse it first with its own code). No attribute of a KDM
 * carries variable data, so there is no attribute escaping here.
 */
final class KdmXmlBuffer {
  private byte[] bytes;
  private int length;

  KdmXmlBuffer(int capacity) {
    bytes = new byte[capacity];
  }

  /** Empties the buffer (and wipes nothing: it never holds secrets, only public XML). */
  void reset() {
    length = 0;
  }

  int length() {
    return length;
  }

  /** The backing array: valid in {@code [0, length())}, until the next append. */
  byte[] array() {
    return bytes;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(bytes, length);
  }

  KdmXmlBuffer raw(byte[] b) {
    return raw(b, 0, b.length);
  }

  KdmXmlBuffer raw(byte[] b, int offset, int count) {
    ensure(count);
    System.arraycopy(b, offset, bytes, length, count);
    length += count;
    return this;
  }

  /** Markup: {@code s} must be ASCII and need no escaping (element names, constants, digits). */
  KdmXmlBuffer markup(String s) {
    int n = s.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        throw new IllegalArgumentException("markup must be ASCII");
      }
      bytes[length++] = (byte) c;
    }
    return this;
  }

  /** Character data, escaped as C14N writes a text node (see the class comment). */
  KdmXmlBuffer text(String s) {
    int n = s.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> markup("&amp;");
        case '<' -> markup("&lt;");
        case '>' -> markup("&gt;");
        case '\r' -> markup("&#xD;");
        default -> {
          if (c < 0x80) {
            ensure(1);
            bytes[length++] = (byte) c;
          } else if (c < 0x800) {
            ensure(2);
            bytes[length++] = (byte) (0xC0 | (c >> 6));
            bytes[length++] = (byte) (0x80 | (c & 0x3F));
          } else if (Character.isSurrogate(c)) {
            if (!Character.isHighSurrogate(c)
                || i + 1 >= n
                || !Character.isLowSurrogate(s.charAt(i + 1))) {
              throw new IllegalArgumentException("a lone surrogate has no UTF-8 form");
            }
            int cp = Character.toCodePoint(c, s.charAt(++i));
            ensure(4);
            bytes[length++] = (byte) (0xF0 | (cp >> 18));
            bytes[length++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
            bytes[length++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            bytes[length++] = (byte) (0x80 | (cp & 0x3F));
          } else {
            ensure(3);
            bytes[length++] = (byte) (0xE0 | (c >> 12));
            bytes[length++] = (byte) (0x80 | ((c >> 6) & 0x3F));
            bytes[length++] = (byte) (0x80 | (c & 0x3F));
          }
        }
      }
    }
    return this;
  }

  private void ensure(int more) {
    if (length + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
    }
  }
}
