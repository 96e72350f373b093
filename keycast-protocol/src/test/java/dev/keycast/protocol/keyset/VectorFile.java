package dev.keycast.protocol.keyset;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One test vector file: {@code # comment} lines, then {@code key: value} lines. {@code expect} is
 * {@code ok}, {@code decryption_failed}, {@code signature_invalid} or {@code malformed:<code>};
 * {@code hex} is the input; {@code append-zeros: n} appends n zero bytes to it (for oversize
 * vectors); other keys override inputs of the golden vector.
 */
public record VectorFile(String name, Map<String, String> fields) {
  public String expect() {
    return fields.get("expect");
  }

  public byte[] input() {
    byte[] b = HexFormat.of().parseHex(fields.get("hex"));
    String zeros = fields.get("append-zeros");
    return zeros == null ? b : Arrays.copyOf(b, b.length + Integer.parseInt(zeros));
  }

  public byte[] hex(String key, byte[] dflt) {
    String v = fields.get(key);
    return v == null ? dflt : HexFormat.of().parseHex(v);
  }

  public static VectorFile parse(String name, String text) {
    Map<String, String> f = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int c = line.indexOf(": ");
      f.put(line.substring(0, c), line.substring(c + 2).trim());
    }
    if (!f.containsKey("expect") || !f.containsKey("hex")) {
      throw new IllegalArgumentException(name + ": needs expect and hex");
    }
    return new VectorFile(name, f);
  }

  /** Committed vector files under {@code vectors/<format>/} on the test class path, sorted by name. */
  public static List<VectorFile> load(String format) {
    List<VectorFile> files =
        dev.keycast.protocol.VectorDirs.files(directory(format), ".ok", ".fail").stream()
            .map(p -> parse(p.getFileName().toString(), read(p)))
            .toList();
    for (VectorFile f : files) {
      if (!f.name().startsWith(code(f.expect()) + "-")) {
        throw new IllegalStateException(
            "vectors/"
                + format
                + "/"
                + f.name()
                + " does not start with its expectation "
                + code(f.expect())
                + "-");
      }
    }
    return files;
  }

  /** What a vector's file name starts with: {@code ok}, or the error code ({@code malformed:truncated}: {@code truncated}). */
  public static String code(String expect) {
    return expect.startsWith("malformed:") ? expect.substring("malformed:".length()) : expect;
  }

  /** {@code [dir/]<what>.<ext>} named by its expectation, age-style: {@code [dir/]<code>-<what>.<ext>}. */
  public static String expectName(String path, String expect) {
    int slash = path.lastIndexOf('/');
    return path.substring(0, slash + 1) + code(expect) + "-" + path.substring(slash + 1);
  }

  public static Path directory(String format) {
    URL url = VectorFile.class.getClassLoader().getResource("vectors/" + format);
    if (url == null) {
      throw new IllegalStateException("vectors/" + format + " is not on the test class path");
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Renders a vector file. */
  public static String render(
      String comment, String expect, Map<String, String> extra, byte[] input) {
    StringBuilder sb = new StringBuilder();
    sb.append("# ").append(comment).append('\n');
    sb.append("expect: ").append(expect).append('\n');
    extra.forEach((k, v) -> sb.append(k).append(": ").append(v).append('\n'));
    sb.append("hex: ").append(HexFormat.of().formatHex(input)).append('\n');
    return sb.toString();
  }
}
