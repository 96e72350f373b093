package dev.keycast.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code keycast} command for senders, recipients and auditors.
 *
 * <p>Command groups are subcommands of this class ({@code attestation}, later {@code send}, {@code
 * recipient}, {@code fetch}, {@code receipt}, {@code measurements}): add a group by listing its
 * class in {@code subcommands}. Every command writes through {@code spec.commandLine().getOut()} /
 * {@code getErr()} so tests can capture it, and returns an {@link ExitCodes} value.
 */
@Command(
    name = "keycast",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    description = "Keycast client: verify the enclave, send secrets, fetch deliveries, audit receipts.",
    subcommands = {AttestationCommand.class, CommandLine.HelpCommand.class},
    footer = ExitCodes.HELP)
public final class KeycastCli implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    CommandLine cl = spec.commandLine();
    cl.getErr().println(cl.getCommandSpec().qualifiedName() + ": missing command");
    cl.usage(cl.getErr());
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
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          commandLine
              .getErr()
              .println(commandLine.getCommandName() + ": internal error: " + ex);
          return ExitCodes.INTERNAL;
        });
    return cl;
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
