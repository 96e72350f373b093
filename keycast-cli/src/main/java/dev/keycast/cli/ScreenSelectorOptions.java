package dev.keycast.cli;

import dev.keycast.protocol.policy.SendPolicy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * Which screens a command names: by manufacturer root ({@code --screen-root}, optionally {@code
 * --subject}) and/or by certificate thumbprint ({@code --screen}). A picocli mixin of {@code kdm
 * send} and {@code rules send}.
 */
final class ScreenSelectorOptions {
  @Option(
      names = "--screen-root",
      paramLabel = "FILE",
      description =
          "A manufacturer root certificate (PEM or DER): screens whose chain ends at it. Repeatable (at most 16).")
  List<Path> screenRoots = new ArrayList<>();

  @Option(
      names = "--subject",
      paramLabel = "ATTRS",
      description =
          "With --screen-root: required leaf subject attributes, e.g. O=Manufacturer,OU=Site (exact match).")
  String subject;

  @Option(
      names = "--screen",
      paramLabel = "THUMBPRINT",
      description =
          "A screen's certificate thumbprint (base64 SHA-1 of the leaf's TBSCertificate, as"
              + " 'keycast screen register' prints it). Repeatable.")
  List<String> screens = new ArrayList<>();

  /** The screens selected: roots (base64 DER), subject attributes, thumbprints. */
  record Selection(List<String> roots, Map<String, String> subject, Set<String> thumbprints) {}

  /**
   * The checked selection.
   *
   * @throws CliException (usage) for a malformed thumbprint, an unreadable root, no screens at all,
   *     or a subject without a root
   */
  Selection selection() throws CliException {
    Set<String> thumbprints = new LinkedHashSet<>();
    for (String t : screens) {
      String v = t.strip();
      if (!SendPolicy.isWellFormedThumbprint(v)) {
        throw CliException.usage(
            "--screen \""
                + KdmSendCommand.abbreviate(t)
                + "\" is not a certificate thumbprint"
                + " (base64 of 20 bytes, 28 characters; 'keycast screen register' prints it)");
      }
      thumbprints.add(v);
    }
    List<String> roots = new ArrayList<>();
    for (Path r : screenRoots) {
      roots.add(KdmSendCommand.certificate(r));
    }
    if (thumbprints.isEmpty() && roots.isEmpty()) {
      throw CliException.usage(
          "no screens: pass --screen-root FILE (a manufacturer root) or --screen THUMBPRINT");
    }
    Map<String, String> subjectMap = subject == null ? Map.of() : SendCommand.parseSubject(subject);
    if (!subjectMap.isEmpty() && roots.isEmpty()) {
      throw CliException.usage(
          "--subject needs at least one --screen-root (it selects among a manufacturer's screens)");
    }
    return new Selection(roots, subjectMap, thumbprints);
  }
}
