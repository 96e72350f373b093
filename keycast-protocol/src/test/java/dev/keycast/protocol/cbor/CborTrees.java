package dev.keycast.protocol.cbor;

import java.util.List;
import java.util.Map;

/** Test helper: writes a decoded value tree back with {@link CborWriter} (maps in iteration order). */
final class CborTrees {
  private CborTrees() {}

  /** The CBOR encoding of a value tree as {@link CborReader} produces them. */
  static byte[] encode(Object tree) {
    CborWriter w = new CborWriter();
    write(w, tree);
    return w.toByteArray();
  }

  /** Writes one value (Long, Integer, String, byte[], Boolean, CborNull, List or Map of these). */
  static void write(CborWriter w, Object v) {
    switch (v) {
      case Long l -> w.integer(l);
      case Integer i -> w.integer(i);
      case String s -> w.text(s);
      case byte[] b -> w.bytes(b);
      case Boolean b -> w.bool(b);
      case CborNull n -> w.nullValue();
      case List<?> list -> {
        w.array(list.size());
        list.forEach(e -> write(w, e));
      }
      case Map<?, ?> m -> {
        w.map(m.size());
        m.forEach(
            (k, e) -> {
              write(w, k);
              write(w, e);
            });
      }
      default -> throw new IllegalArgumentException("not a CBOR value tree node: " + v.getClass());
    }
  }
}
