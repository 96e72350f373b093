package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The test vector files of a directory: the one loader of the *VectorsTest classes. */
public final class VectorDirs {
  private VectorDirs() {}

  /** {@code src/test-vectors/<name>} (the {@code keycast.vectors} property the build sets). */
  public static Path shared(String name) {
    return Path.of(System.getProperty("keycast.vectors"), name);
  }

  /** The files of {@code dir} whose names end with one of {@code suffixes}, sorted by name. */
  public static List<Path> files(Path dir, String... suffixes) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> endsWithAny(p.getFileName().toString(), suffixes)).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The {@code .json} vectors of {@code src/test-vectors/<name>}, sorted, after asserting there are
   * more than {@code moreThan} (a directory that lost its vectors fails instead of passing empty).
   */
  public static Stream<Path> json(String name, int moreThan) {
    List<Path> files = files(shared(name), ".json");
    assertThat(files).hasSizeGreaterThan(moreThan);
    return files.stream();
  }

  private static boolean endsWithAny(String name, String... suffixes) {
    for (String s : suffixes) {
      if (name.endsWith(s)) {
        return true;
      }
    }
    return false;
  }
}
