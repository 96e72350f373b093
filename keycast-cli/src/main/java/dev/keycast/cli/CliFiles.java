package dev.keycast.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** File reading with caps, and writing of private files (mode 0600, created atomically). */
final class CliFiles {
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  private CliFiles() {}

  /** Reads at most {@code max} bytes of {@code path} ({@code -} is stdin); more is a usage error. */
  static byte[] read(Path path, String option, int max) throws CliException {
    boolean stdin = path.toString().equals("-");
    try (InputStream in = stdin ? System.in : Files.newInputStream(path)) {
      byte[] data = in.readNBytes(max + 1);
      if (data.length > max) {
        throw CliException.usage(option + " " + path + ": larger than " + max + " bytes");
      }
      return data;
    } catch (NoSuchFileException e) {
      throw CliException.io(option + " " + path + ": no such file");
    } catch (AccessDeniedException e) {
      throw CliException.io(option + " " + path + ": permission denied");
    } catch (IOException e) {
      throw CliException.io(
          option
              + " "
              + path
              + ": cannot read ("
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : " " + e.getMessage())
              + ")");
    }
  }

  /** Creates a directory (and parents) if needed. */
  static void ensureDirectory(Path dir, String option) throws CliException {
    try {
      Files.createDirectories(dir);
    } catch (FileAlreadyExistsException e) {
      throw CliException.io(option + " " + dir + ": exists and is not a directory");
    } catch (IOException e) {
      throw CliException.io(
          option
              + " "
              + dir
              + ": cannot create the directory ("
              + e.getClass().getSimpleName()
              + ")");
    }
  }

  /**
   * Writes {@code data} to {@code target} through a temporary file in the same directory that is
   * created with {@code privateFile ? 0600 : 0644}, then moved into place atomically. Refuses to
   * replace an existing file unless {@code replace}.
   */
  static void write(Path target, byte[] data, boolean privateFile, boolean replace)
      throws CliException {
    Path dir = target.toAbsolutePath().getParent();
    if (!replace && Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw CliException.io(target + " already exists: remove it or choose another name");
    }
    Path tmp = null;
    try {
      FileAttribute<Set<PosixFilePermission>> perms =
          PosixFilePermissions.asFileAttribute(
              privateFile ? OWNER_ONLY : PosixFilePermissions.fromString("rw-r--r--"));
      tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp", perms);
      try (OutputStream out =
          Files.newOutputStream(tmp, StandardOpenOption.WRITE, StandardOpenOption.SYNC)) {
        out.write(data);
      }
      if (replace) {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } else {
        // a hard link fails if the target appeared meanwhile: never clobber
        Files.createLink(target, tmp);
        Files.delete(tmp);
      }
      tmp = null;
    } catch (FileAlreadyExistsException e) {
      throw CliException.io(target + " already exists: remove it or choose another name");
    } catch (UnsupportedOperationException e) {
      throw CliException.io(target + ": the file system does not support POSIX permissions");
    } catch (IOException e) {
      throw CliException.io(
          target
              + ": cannot write ("
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : " " + e.getMessage())
              + ")");
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort
        }
      }
    }
  }
}
