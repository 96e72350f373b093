package dev.keycast.protocol.hpke;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parser for the RFC 9180 appendix text in {@code src/test-vectors/hpke}. */
final class Rfc9180Vectors {
  /** One setup section (one mode of one suite) with its encryptions. */
  record Setup(Map<String, byte[]> fields, List<Encryption> encryptions, List<Export> exports) {
    byte[] get(String name) {
      byte[] v = fields.get(name);
      if (v == null) {
        throw new IllegalStateException("vector lacks " + name);
      }
      return v;
    }

    int intField(String name) {
      return Integer.parseInt(new String(get(name)));
    }

    @Override
    public String toString() {
      return "aead_id=" + intField("aead_id") + " mode=" + intField("mode");
    }
  }

  record Encryption(int seq, byte[] pt, byte[] aad, byte[] nonce, byte[] ct) {}

  record Export(byte[] context, int length, byte[] value) {}

  private static final Pattern KEY = Pattern.compile("^\\s+([a-zA-Z_ ]+):\\s*(\\S*)\\s*$");
  private static final Pattern HEX = Pattern.compile("^\\s+([0-9a-f]+)\\s*$");
  private static final List<String> INTS =
      List.of("mode", "kem_id", "kdf_id", "aead_id", "sequence number", "L");

  private Rfc9180Vectors() {}

  static Path file() {
    String dir = System.getProperty("keycast.vectors");
    if (dir == null) {
      throw new IllegalStateException("system property keycast.vectors is not set");
    }
    return Path.of(dir, "hpke", "rfc9180-x25519-vectors.txt");
  }

  static List<Setup> load() throws IOException {
    List<Setup> setups = new ArrayList<>();
    Map<String, byte[]> current = null;
    List<Encryption> encs = null;
    List<Export> exps = null;
    Map<String, byte[]> enc = null;
    String lastKey = null;
    Map<String, byte[]> target = null;
    for (String line : Files.readAllLines(file())) {
      Matcher k = KEY.matcher(line);
      Matcher h = HEX.matcher(line);
      if (k.matches() && !h.matches()) {
        String key = k.group(1).trim();
        String value = k.group(2);
        if (key.equals("mode")) {
          current = new LinkedHashMap<>();
          encs = new ArrayList<>();
          exps = new ArrayList<>();
          setups.add(new Setup(current, encs, exps));
          enc = null;
          target = current;
        } else if (key.equals("sequence number")) {
          enc = new LinkedHashMap<>();
          target = enc;
        } else if (key.equals("exporter_context")) {
          enc = new LinkedHashMap<>();
          target = enc;
        }
        if (key.equals("ct") && enc != null) {
          enc.put(key, HexFormat.of().parseHex(value));
          lastKey = key;
          continue;
        }
        if (target == null) {
          lastKey = null;
          continue;
        }
        target.put(key, INTS.contains(key) ? value.getBytes() : HexFormat.of().parseHex(value));
        lastKey = key;
      } else if (h.matches() && lastKey != null) {
        Map<String, byte[]> t = (enc != null && enc.containsKey(lastKey)) ? enc : target;
        if (t == null) {
          continue;
        }
        byte[] prev = t.get(lastKey);
        byte[] more = HexFormat.of().parseHex(h.group(1));
        byte[] joined = new byte[prev.length + more.length];
        System.arraycopy(prev, 0, joined, 0, prev.length);
        System.arraycopy(more, 0, joined, prev.length, more.length);
        t.put(lastKey, joined);
      } else if (line.isBlank() && enc != null && enc.containsKey("exported_value")) {
        exps.add(
            new Export(
                enc.get("exporter_context"),
                Integer.parseInt(new String(enc.get("L"))),
                enc.get("exported_value")));
        enc = null;
        target = null;
        lastKey = null;
      } else if (line.isBlank() && enc != null && enc.containsKey("ct")) {
        encs.add(
            new Encryption(
                Integer.parseInt(new String(enc.get("sequence number"))),
                enc.get("pt"),
                enc.get("aad"),
                enc.get("nonce"),
                enc.get("ct")));
        enc = null;
        target = null;
        lastKey = null;
      }
    }
    return setups;
  }

  static List<Setup> baseMode() throws IOException {
    return load().stream().filter(s -> s.intField("mode") == 0).toList();
  }
}
