package dev.keycast.mock.nitro;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The PCR0/PCR1/PCR2 a {@link MockAttester} reports, derived from what really runs so that a
 * code change changes PCR0 and PCR2, as it would in an EIF.
 *
 * <p>Every PCR is a TPM-style extend from zero, as nitro-cli computes them:
 * {@code extend(m) = SHA-384(0^48 || m)} where {@code m} is a SHA-384 digest.
 *
 * <ul>
 *   <li><b>code digest</b> {@code C} = SHA-384 over, for each measured classpath entry in order,
 *       {@code "F" || SHA-384(file bytes)} for a file (a jar) or {@code "D" || SHA-384(for each
 *       regular file below it in sorted relative-path order: path-with-slashes || 0x00 ||
 *       SHA-384(bytes))} for a directory. Missing entries are skipped. Entry locations are not
 *       measured, only contents.
 *   <li><b>runtime descriptor</b> {@code R} = UTF-8 {@code "keycast-mock-runtime\n" ||
 *       Runtime.version() || "\n" || java.vm.name || "\n" || os.arch}.
 *   <li><b>PCR0</b> = extend(SHA-384(R || C)): everything that runs (EIF analogue: kernel,
 *       cmdline and all ramdisks).
 *   <li><b>PCR1</b> = extend(SHA-384(R)): the runtime only (EIF analogue: kernel and the AWS
 *       bootstrap ramdisk, the same for every image built with the same tools).
 *   <li><b>PCR2</b> = extend(C): the application only (EIF analogue: the customer ramdisk).
 * </ul>
 */
public record MockMeasurements(byte[] pcr0, byte[] pcr1, byte[] pcr2) {
  /** Length of a SHA-384 PCR. */
  public static final int PCR_BYTES = 48;

  public MockMeasurements {
    for (byte[] p : List.of(pcr0, pcr1, pcr2)) {
      if (p.length != PCR_BYTES) {
        throw new IllegalArgumentException("a PCR is " + PCR_BYTES + " bytes, not " + p.length);
      }
    }
    pcr0 = pcr0.clone();
    pcr1 = pcr1.clone();
    pcr2 = pcr2.clone();
  }

  /** Measures the entries of this JVM's {@code java.class.path} in their order. */
  public static MockMeasurements ofRunningJvm() throws IOException {
    List<Path> entries = new ArrayList<>();
    for (String e : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
      if (!e.isEmpty()) {
        entries.add(Path.of(e));
      }
    }
    return of(entries, runtimeDescriptor());
  }

  /** Measures {@code codeEntries} (jars or class directories) under a runtime descriptor. */
  public static MockMeasurements of(List<Path> codeEntries, String runtimeDescriptor)
      throws IOException {
    MessageDigest code = sha384();
    for (Path entry : codeEntries) {
      if (Files.isRegularFile(entry)) {
        code.update((byte) 'F');
        code.update(digestFile(entry));
      } else if (Files.isDirectory(entry)) {
        code.update((byte) 'D');
        code.update(digestDirectory(entry));
      }
    }
    byte[] c = code.digest();
    byte[] r = runtimeDescriptor.getBytes(StandardCharsets.UTF_8);
    MessageDigest all = sha384();
    all.update(r);
    all.update(c);
    return new MockMeasurements(extend(all.digest()), extend(sha384().digest(r)), extend(c));
  }

  /** The descriptor of this JVM used for PCR1. */
  public static String runtimeDescriptor() {
    return "keycast-mock-runtime\n"
        + Runtime.version()
        + "\n"
        + System.getProperty("java.vm.name", "")
        + "\n"
        + System.getProperty("os.arch", "");
  }

  /** {@code SHA-384(0^48 || digest)}. */
  static byte[] extend(byte[] digest) {
    MessageDigest md = sha384();
    md.update(new byte[PCR_BYTES]);
    md.update(digest);
    return md.digest();
  }

  @Override
  public byte[] pcr0() {
    return pcr0.clone();
  }

  @Override
  public byte[] pcr1() {
    return pcr1.clone();
  }

  @Override
  public byte[] pcr2() {
    return pcr2.clone();
  }

  /** The measurements in nitro-cli's {@code describe-eif}/{@code build-enclave} JSON shape. */
  public String toNitroCliJson() {
    HexFormat hex = HexFormat.of();
    return "{\n  \"Measurements\": {\n    \"HashAlgorithm\": \"Sha384 { ... }\",\n"
        + "    \"PCR0\": \""
        + hex.formatHex(pcr0)
        + "\",\n"
        + "    \"PCR1\": \""
        + hex.formatHex(pcr1)
        + "\",\n"
        + "    \"PCR2\": \""
        + hex.formatHex(pcr2)
        + "\"\n  }\n}\n";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MockMeasurements m
        && Arrays.equals(m.pcr0, pcr0)
        && Arrays.equals(m.pcr1, pcr1)
        && Arrays.equals(m.pcr2, pcr2);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(pcr0);
  }

  @Override
  public String toString() {
    HexFormat hex = HexFormat.of();
    return "MockMeasurements[PCR0="
        + hex.formatHex(pcr0)
        + ", PCR1="
        + hex.formatHex(pcr1)
        + ", PCR2="
        + hex.formatHex(pcr2)
        + "]";
  }

  private static byte[] digestFile(Path file) throws IOException {
    MessageDigest md = sha384();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return md.digest();
  }

  private static byte[] digestDirectory(Path dir) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    MessageDigest md = sha384();
    try {
      for (Path f : files) {
        String rel = dir.relativize(f).toString().replace(File.separatorChar, '/');
        md.update(rel.getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
        md.update(digestFile(f));
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return md.digest();
  }

  private static MessageDigest sha384() {
    try {
      return MessageDigest.getInstance("SHA-384");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-384 is a required JDK algorithm", e);
    }
  }
}
