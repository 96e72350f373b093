package dev.keycast.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code keycast} command for senders, recipients and auditors.
 *
 * <p>Commands: {@code attest}, {@code send}, {@code recipient keygen|register|show}, {@code fetch},
 * {@code receipt verify|fetch}, {@code measurements show|compare}, {@code attestation verify}. Every
 * command writes through {@code spec.commandLine().getOut()} / {@code getErr()} so tests can
 * capture it, and returns an {@link ExitCodes} value. Errors are one stderr line, {@code
 * "keycast <command>: <what to fix>"}; usage errors too (no usage dump).
 */
@Command(
    name = "keycast",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description =
        "Keycast client: verify the enclave, send secrets, fetch deliveries, audit receipts.",
    subcommands = {
      AttestCommand.class,
      SendCommand.class,
      SenderCommand.class,
      RecipientCommand.class,
      FetchCommand.class,
      ReceiptCommand.class,
      KdmCommand.class,
      DkdmCommand.class,
      RulesCommand.class,
      ScreenCommand.class,
      MeasurementsCommand.class,
      AttestationCommand.class,
      ImageCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = ExitCodes.HELP)
public final class KeycastCli implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine cl = spec.commandLine();
    cl.getErr()
        .println(
            cl.getCommandSpec().qualifiedName()
                + ": missing command (attest, send, recipient, screen, kdm, fetch, receipt, measurements, attestation); see 'keycast --help'");
    return ExitCodes.USAGE;
  }

  /** A configured command line (exit codes, error handling); tests call {@code execute} on it. */
  public static CommandLine newCommandLine() {
    return newCommandLine(new PrintWriter(System.out, true), new PrintWriter(System.err, true));
  }

  /** A configured command line writing to the given streams. */
  public static CommandLine newCommandLine(PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new KeycastCli());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExitCodeExceptionMapper(
        t -> t instanceof CommandLine.ParameterException ? ExitCodes.USAGE : ExitCodes.INTERNAL);
    cl.setParameterExceptionHandler(KeycastCli::usageError);
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          commandLine
              .getErr()
              .println(
                  commandLine.getCommandSpec().qualifiedName()
                      + ": internal error (a bug, please report it): "
                      + ex.getClass().getName());
          return ExitCodes.INTERNAL;
        });
    return cl;
  }

  /**
   * One line for a usage error: {@code "keycast send: --expect-pcrs is required (the
   * measurements.json of the enclave image you trust); see 'keycast send --help'"}.
   */
  static int usageError(CommandLine.ParameterException ex, String[] args) {
    CommandLine cl = ex.getCommandLine();
    String name = cl.getCommandSpec().qualifiedName();
    String message;
    if (ex instanceof CommandLine.MissingParameterException missing
        && !missing.getMissing().isEmpty()
        && (ex.getMessage() == null || !ex.getMessage().startsWith("Missing required parameter"))) {
      List<String> parts = new ArrayList<>();
      CommandLine.Model.ArgGroupSpec group = missing.getMissing().getFirst().group();
      if (group != null && group.exclusive()) {
        List<String> names = new ArrayList<>();
        for (CommandLine.Model.ArgSpec a : group.args()) {
          names.add(a instanceof CommandLine.Model.OptionSpec o ? o.longestName() : a.paramLabel());
        }
        parts.add("pass one of " + String.join(", ", names));
      } else
        for (CommandLine.Model.ArgSpec a : missing.getMissing()) {
          String what =
              a instanceof CommandLine.Model.OptionSpec o ? o.longestName() : a.paramLabel();
          String[] d = a.description();
          String hint = d.length == 0 ? "" : firstSentence(d[0]);
          parts.add(what + " is required" + (hint.isEmpty() ? "" : " (" + hint + ")"));
        }
      message = String.join("; ", parts);
    } else {
      message = ex.getMessage() == null ? "bad command line" : ex.getMessage();
    }
    cl.getErr()
        .println(name + ": " + KeycastCommand.oneLine(message) + "; see '" + name + " --help'");
    cl.getErr().flush();
    return ExitCodes.USAGE;
  }

  private static String firstSentence(String description) {
    String d = description.replace("${DEFAULT-VALUE}", "").strip();
    d = d.split("\\.\\s+(?=[A-Z(])", 2)[0];
    if (d.endsWith(".")) {
      d = d.substring(0, d.length() - 1);
    }
    return d.isEmpty() ? d : Character.toLowerCase(d.charAt(0)) + d.substring(1);
  }

  public static void main(String[] args) {
    System.exit(newCommandLine().execute(args));
  }

  /** Reports the implementation version of the jar, or "development". */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = KeycastCli.class.getPackage().getImplementationVersion();
      return new String[] {"keycast " + (v == null ? "development" : v)};
    }
  }
}
