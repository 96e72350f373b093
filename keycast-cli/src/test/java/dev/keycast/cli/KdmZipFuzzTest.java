package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Coverage-guided fuzz target for the zip reader of {@code keycast kdm fetch}, {@link
 * KdmFetchCommand#unzip}: the answer of the untrusted host to {@code GET /v1/screens/.../kdms} and
 * {@code GET /v1/cinemas/.../kdms}, whose file names the CLI writes into the operator's directory.
 *
 * <p>Contract: only {@link CliException} (exit code {@link ExitCodes#VERIFICATION_FAILED}, a
 * one-line message) escapes, whatever the zip library meets (bad headers, bad deflate streams, names
 * that are not UTF-8, truncation); allocation stays within {@link #ALLOCATION_PER_BYTE} per input
 * byte (deflate inflates up to about 1,032-fold and the reader copies once) and is bounded anyway by
 * the total cap, here {@link #MAX_TOTAL} so that a regression seed stays small (the command uses
 * {@link KdmFetchCommand#MAX_TOTAL_BYTES}); what is accepted is re-checked independently: at most
 * {@link KdmFetchCommand#MAX_FILES} files, each at most a KDM's size, {@link #MAX_TOTAL} in all, and
 * every name resolves, inside any output directory, to a direct child of that directory that is
 * not hidden; zipping the files again (the writer of the host is {@code ZipOutputStream} as well)
 * and reading them back gives the same names, in the same order, with the same bytes.
 */
class KdmZipFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 4096;

  /** The total cap of this target: 4 MiB, four KDMs at their largest. */
  static final long MAX_TOTAL = 4L << 20;

  private static final Path OUT = Path.of("/keycast-out");

  @FuzzTest
  void unzip(byte[] input) throws IOException {
    Outcome<Map<String, byte[]>> out =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> KdmFetchCommand.unzip(input, MAX_TOTAL),
            CliException.class);
    if (!out.ok()) {
      CliException e = (CliException) out.error();
      assertThat(e.exitCode()).isEqualTo(ExitCodes.VERIFICATION_FAILED);
      assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("\r");
      return;
    }
    Map<String, byte[]> files = out.value();
    assertThat(files.size()).isLessThanOrEqualTo(KdmFetchCommand.MAX_FILES);
    long total = 0;
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      String name = f.getKey();
      assertThat(f.getValue().length).isLessThanOrEqualTo(KdmReader.MAX_KDM_BYTES);
      total += f.getValue().length;
      Path p = OUT.resolve(name).normalize();
      assertThat(p.getParent()).as("\"%s\" stays in the output directory", name).isEqualTo(OUT);
      assertThat(p.getFileName().toString()).isEqualTo(name).doesNotStartWith(".");
    }
    assertThat(total).isLessThanOrEqualTo(MAX_TOTAL);
    Map<String, byte[]> again;
    try {
      again = KdmFetchCommand.unzip(zip(files), MAX_TOTAL);
    } catch (CliException e) {
      throw new AssertionError(
          "the files of an accepted zip, zipped again, are refused: " + e.getMessage(), e);
    }
    assertThat(new ArrayList<>(again.keySet())).isEqualTo(new ArrayList<>(files.keySet()));
    files.forEach((k, v) -> assertThat(again.get(k)).isEqualTo(v));
  }

  static byte[] zip(Map<String, byte[]> files) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(b)) {
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        z.putNextEntry(new ZipEntry(f.getKey()));
        z.write(f.getValue());
        z.closeEntry();
      }
    }
    return b.toByteArray();
  }
}
