package dev.keycast.cli;

import dev.keycast.protocol.cinema.KdmFileNames;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast kdm fetch}: GETs the KDM zip of one screen or of one cinema (api.md section 2.4),
 * signed by the caller's sender key, and writes its files into a directory, one output line per
 * file. The host is not trusted with the names: every name must be a plain file name
 * ({@link KdmFileNames#isSafeFileName}); any other (a path, {@code ..}, a hidden file), a duplicate,
 * a file larger than a KDM can be, more files than a zip may hold, or more bytes of KDMs in all than
 * the host ever puts in one zip refuses the whole zip before anything is written.
 */
@Command(
    name = "fetch",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Fetch the KDMs issued to one screen (--screen) or to every screen of a cinema (--cinema) and"
          + " write them into --out-dir, named <title>_<cinema>_<screen>_<from>_<to>_<cpl-id>.kdm.xml"
          + " (one line per file written). Existing files of the same name are replaced. Check a KDM"
          + " with 'keycast kdm verify'."
    },
    footer = ExitCodes.HELP)
final class KdmFetchCommand extends KeycastCommand {
  /** Most files one zip may hold. */
  static final int MAX_FILES = 20_000;

  /**
   * Most bytes of KDMs (inflated) one zip may hold: what the host puts in one zip at most (its
   * {@code KdmZip.MAX_KDM_BYTES}). Without it, 20,000 entries of 1 MiB of zeros, a few MiB of
   * deflated zip, would inflate to 20 GiB in memory (fuzzing.md Z7).
   */
  static final long MAX_TOTAL_BYTES = 256L << 20;

  @Mixin HostOptions hostOptions;

  static final class Which {
    @Option(
        names = "--screen",
        required = true,
        paramLabel = "THUMBPRINT",
        description =
            "The screen's certificate thumbprint (base64 SHA-1 of its leaf, or the same in base64url).")
    String screen;

    @Option(
        names = "--cinema",
        required = true,
        paramLabel = "NAME",
        description = "Every screen of this cinema.")
    String cinema;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Which which;

  @Option(
      names = "--out-dir",
      required = true,
      paramLabel = "DIR",
      description = "Where to write the KDM files (created if missing).")
  Path outDir;

  @Option(
      names = "--sender-key",
      required = true,
      paramLabel = "FILE",
      description =
          "Your PEM Ed25519 sender key (keycast sender keygen): the host admits only senders of the key set's sender set.")
  Path senderKey;

  @Override
  int run() throws CliException, HostException {
    String path;
    if (which.screen != null) {
      path = "/v1/screens/" + thumbprintUrl(which.screen) + "/kdms";
    } else {
      if (which.cinema.isBlank() || which.cinema.length() > 64 || which.cinema.contains("/")) {
        throw CliException.usage("--cinema: a cinema name is 1 to 64 characters without '/'");
      }
      path = "/v1/cinemas/" + HostClient.pathSegment(which.cinema) + "/kdms";
    }
    HostClient host = hostOptions.client();
    byte[] zip;
    try (SenderSigningKey key = SenderSets.readPrivate(senderKey, "--sender-key")) {
      zip = host.kdmZip(path, key);
    }
    Map<String, byte[]> files = unzip(zip);
    try {
      Files.createDirectories(outDir);
    } catch (IOException e) {
      throw CliException.io("--out-dir: cannot create " + outDir + ": " + e.getMessage());
    }
    List<String> written = new ArrayList<>();
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Path target = outDir.resolve(f.getKey());
      if (Files.isSymbolicLink(target) || Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
        throw CliException.io(target + " is a link or a directory: remove it first");
      }
      CliFiles.write(target, f.getValue(), false, true);
      written.add(target.toString());
      if (!json) {
        out().println(target);
      }
    }
    if (json) {
      printJson(Map.of("files", written));
    }
    return ExitCodes.OK;
  }

  /** The thumbprint as the host's path names it: base64url without padding (27 characters). */
  static String thumbprintUrl(String t) throws CliException {
    if (SendPolicy.isWellFormedThumbprint(t)) {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(Base64.getDecoder().decode(t));
    }
    if (t.matches("[A-Za-z0-9_-]{27}")) {
      String std = Base64.getEncoder().encodeToString(Base64.getUrlDecoder().decode(t));
      if (SendPolicy.isWellFormedThumbprint(std)) {
        return t;
      }
    }
    throw CliException.usage(
        "--screen: \""
            + t
            + "\" is not a certificate thumbprint (base64 SHA-1, 28"
            + " characters, or base64url, 27)");
  }

  /**
   * The zip's files, checked whole before anything is written: safe names only, no directory
   * entry, no duplicate, each at most a KDM's size, at most {@link #MAX_FILES}.
   */
  static Map<String, byte[]> unzip(byte[] zip) throws CliException {
    return unzip(zip, MAX_TOTAL_BYTES);
  }

  /** As {@link #unzip(byte[])}, with at most {@code maxTotalBytes} of KDMs in all (tests use less). */
  static Map<String, byte[]> unzip(byte[] zip, long maxTotalBytes) throws CliException {
    Map<String, byte[]> out = new LinkedHashMap<>();
    long total = 0;
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        String name = e.getName();
        if (!KdmFileNames.isSafeFileName(name)) {
          throw CliException.verification(
              "the host's zip names a file \""
                  + printable(name)
                  + "\" that is not a plain file name (a path or hidden file): nothing was written");
        }
        if (out.containsKey(name)) {
          throw CliException.verification(
              "the host's zip holds " + name + " twice: nothing was written");
        }
        if (out.size() >= MAX_FILES) {
          throw CliException.verification(
              "the host's zip holds more than " + MAX_FILES + " files: nothing was written");
        }
        // Read at most what is left of the total (and one byte more), so the cap comes before the
        // allocation.
        int room = (int) Math.min(KdmReader.MAX_KDM_BYTES, maxTotalBytes - total);
        byte[] body = readCapped(in, room);
        if (body == null && room < KdmReader.MAX_KDM_BYTES) {
          throw CliException.verification(
              "the host's zip holds more than "
                  + maxTotalBytes
                  + " bytes of KDMs in all (more than the host puts in one zip): nothing was written");
        }
        if (body == null) {
          throw CliException.verification(
              "the host's zip holds "
                  + name
                  + ", larger than a KDM ("
                  + KdmReader.MAX_KDM_BYTES
                  + " bytes): nothing was written");
        }
        total += body.length;
        out.put(name, body);
      }
    } catch (ZipException e) {
      throw CliException.verification("the host's answer is not a valid zip: nothing was written");
    } catch (IOException e) {
      throw CliException.verification(
          "the host's zip cannot be read ("
              + e.getClass().getSimpleName()
              + "): nothing was written");
    }
    return out;
  }

  private static byte[] readCapped(InputStream in, int cap) throws IOException {
    byte[] b = in.readNBytes(cap + 1);
    return b.length > cap ? null : b;
  }

  private static String printable(String s) {
    String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return cut.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
