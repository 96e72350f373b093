package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keycast measurements show}: print the allowed PCR sets of an expected-PCRs file. */
@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description =
        "Check and print an expected-PCRs file (nitro-cli build output or Keycast"
            + " {\"version\":1,\"allowed\":[...]}): the KMS key it pins (\"kms_key_arn\"), if any, and one"
            + " block per allowed set.",
    footer = ExitCodes.HELP)
final class MeasurementsShowCommand extends KeycastCommand {
  @Option(
      names = "--file",
      required = true,
      paramLabel = "FILE",
      description = "The measurements.json file.")
  Path file;

  record Result(List<Map<String, String>> allowed, String kmsKeyArn) {}

  @Override
  int run() throws CliException {
    ExpectedPcrs pcrs = read(file, "--file");
    String kms;
    try {
      kms =
          ExpectedPcrs.kmsKeyArn(CliFiles.read(file, "--file", ExpectedPcrs.MAX_FILE_BYTES))
              .orElse(null);
    } catch (MalformedInputException e) {
      throw CliException.usage("--file " + file + ": " + e.getMessage());
    }
    List<Map<String, String>> sets = hexSets(pcrs);
    if (json) {
      printJson(new Result(sets, kms));
      return ExitCodes.OK;
    }
    out()
        .println(
            "kms key:      "
                + (kms == null
                    ? "(none: senders must pass --expect-kms-key with this file)"
                    : kms + " (a deployment file: pins both)"));
    for (int i = 0; i < sets.size(); i++) {
      out().println("allowed set " + i + ":");
      sets.get(i).forEach((k, v) -> out().printf("  %-6s %s%n", k, v));
    }
    return ExitCodes.OK;
  }

  static ExpectedPcrs read(Path file, String option) throws CliException {
    try {
      return ExpectedPcrs.parseJson(CliFiles.read(file, option, ExpectedPcrs.MAX_FILE_BYTES));
    } catch (MalformedInputException e) {
      throw CliException.usage(option + " " + file + ": " + e.getMessage());
    }
  }

  static List<Map<String, String>> hexSets(ExpectedPcrs pcrs) {
    List<Map<String, String>> out = new ArrayList<>();
    for (SortedMap<Integer, byte[]> s : pcrs.sets()) {
      TreeMap<String, String> m = new TreeMap<>((a, b) -> Integer.compare(idx(a), idx(b)));
      s.forEach((k, v) -> m.put("PCR" + k, HexFormat.of().formatHex(v)));
      out.add(m);
    }
    return out;
  }

  private static int idx(String pcr) {
    return Integer.parseInt(pcr.substring(3));
  }
}
