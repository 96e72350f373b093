package dev.keycast.cli;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.AttestationDocument;
import dev.keycast.protocol.attestation.AttestationParser;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keycast measurements compare}: which allowed PCR set, if any, a document's PCRs match. */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Compare the PCRs of an attestation document with an expected-PCRs file, PCR by PCR."
          + " Exits 0 when one allowed set matches, 1 otherwise.",
      "This compares measurements only: it does not check the document's signature or freshness"
          + " (use 'keycast attestation verify --expect-pcrs' for that)."
    },
    footer = ExitCodes.HELP)
final class MeasurementsCompareCommand extends KeycastCommand {
  @Option(
      names = "--expected",
      required = true,
      paramLabel = "FILE",
      description = "The measurements.json file.")
  Path expected;

  @Option(
      names = "--document",
      required = true,
      paramLabel = "FILE",
      description =
          "The attestation document: raw CBOR or base64 ('keycast attest --out-document').")
  Path document;

  record PcrComparison(String pcr, String expected, String actual, boolean match) {}

  record SetComparison(int set, boolean match, List<PcrComparison> pcrs) {}

  record Result(boolean match, Integer matchingSet, List<SetComparison> sets) {}

  @Override
  int run() throws CliException {
    ExpectedPcrs pcrs = MeasurementsShowCommand.read(expected, "--expected");
    byte[] raw =
        AttestationVerifyCommand.decodeInput(CliFiles.read(document, "--document", 64 * 1024));
    AttestationDocument doc;
    try {
      doc = AttestationParser.parse(raw);
    } catch (MalformedInputException e) {
      throw CliException.usage(
          "--document " + document + ": not an attestation document: " + e.getMessage());
    }
    HexFormat hex = HexFormat.of();
    List<SetComparison> sets = new ArrayList<>();
    Integer matching = null;
    int i = 0;
    for (SortedMap<Integer, byte[]> s : pcrs.sets()) {
      List<PcrComparison> rows = new ArrayList<>();
      boolean all = true;
      for (Map.Entry<Integer, byte[]> e : s.entrySet()) {
        Optional<byte[]> actual = doc.pcr(e.getKey());
        boolean eq = actual.isPresent() && MessageDigest.isEqual(actual.get(), e.getValue());
        all &= eq;
        rows.add(
            new PcrComparison(
                "PCR" + e.getKey(),
                hex.formatHex(e.getValue()),
                actual.map(hex::formatHex).orElse(null),
                eq));
      }
      if (all && matching == null) {
        matching = i;
      }
      sets.add(new SetComparison(i++, all, rows));
    }
    if (json) {
      printJson(new Result(matching != null, matching, sets));
    } else {
      for (SetComparison sc : sets) {
        out().println("allowed set " + sc.set() + ": " + (sc.match() ? "MATCH" : "no match"));
        for (PcrComparison p : sc.pcrs()) {
          out().printf("  %-6s %s %s%n", p.pcr(), p.match() ? "ok      " : "DIFFERS ", p.actual());
          if (!p.match()) {
            out().printf("  %-6s expected %s%n", "", p.expected());
          }
        }
      }
    }
    if (matching == null) {
      throw CliException.verification(
          "the document's PCRs match none of the "
              + sets.size()
              + " allowed set(s) in "
              + expected);
    }
    return ExitCodes.OK;
  }
}
