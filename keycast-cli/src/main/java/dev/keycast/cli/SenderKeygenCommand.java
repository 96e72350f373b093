package dev.keycast.cli;

import dev.keycast.protocol.sender.SenderKeyFiles;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keycast sender keygen}: an Ed25519 key pair of a sender or an owner. */
@Command(
    name = "keygen",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description =
        "Generate an Ed25519 sender (or owner) key pair: DIR/NAME.key.pem (PKCS#8, mode 0600;"
            + " openssl reads it) and DIR/NAME.pub.pem (the public key the owner admits). Prints its fingerprint.",
    footer = ExitCodes.HELP)
final class SenderKeygenCommand extends KeycastCommand {
  @Option(
      names = "--out-dir",
      required = true,
      paramLabel = "DIR",
      description = "The directory to write the two files into (created if needed).")
  Path outDir;

  @Option(
      names = "--name",
      paramLabel = "NAME",
      defaultValue = "sender",
      description = "Base name of the files. Default: ${DEFAULT-VALUE}.")
  String name;

  record Result(String fingerprint, String privateKey, String publicKey) {}

  @Override
  int run() throws CliException {
    if (!name.matches("[A-Za-z0-9._-]{1,100}") || name.startsWith(".")) {
      throw CliException.usage(
          "--name: \""
              + name
              + "\" must be 1..100 characters of [A-Za-z0-9._-], not starting with '.'");
    }
    Path keyFile = outDir.resolve(name + ".key.pem");
    Path pubFile = outDir.resolve(name + ".pub.pem");
    for (Path p : new Path[] {keyFile, pubFile}) {
      if (java.nio.file.Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        throw CliException.io(p + " already exists: remove it or choose another --name");
      }
    }
    try (SenderSigningKey k = SenderSigningKey.generate(new SecureRandom())) {
      byte[] keyPem = SenderKeyFiles.privatePem(k).getBytes(StandardCharsets.US_ASCII);
      try {
        CliFiles.ensureDirectory(outDir, "--out-dir");
        CliFiles.write(keyFile, keyPem, true, false);
        CliFiles.write(
            pubFile,
            SenderKeyFiles.publicPem(k.publicKey()).getBytes(StandardCharsets.US_ASCII),
            false,
            false);
      } finally {
        Arrays.fill(keyPem, (byte) 0);
      }
      String fp = k.publicKey().fingerprint();
      if (json) {
        printJson(new Result(fp, keyFile.toString(), pubFile.toString()));
      } else {
        out().println("fingerprint:  " + fp);
        out().println("private key:  " + keyFile + " (keep it secret)");
        out().println("public key:   " + pubFile);
      }
    }
    return ExitCodes.OK;
  }
}
