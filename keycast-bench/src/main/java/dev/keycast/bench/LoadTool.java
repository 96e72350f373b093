package dev.keycast.bench;

import dev.keycast.bench.load.BigSendCommand;
import dev.keycast.bench.load.FaultCampaignCommand;
import dev.keycast.bench.load.KdmScreensCommand;
import dev.keycast.bench.load.RegisterCommand;
import dev.keycast.bench.load.SendsCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The Keycast load tool, for a real deployment or a local mock-mode one:
 *
 * <pre>
 * java -cp keycast-bench.jar dev.keycast.bench.LoadTool register --host URL --count 1000 --out r.txt
 * java -cp keycast-bench.jar dev.keycast.bench.LoadTool sends --host URL --recipients-file r.txt \
 *     --concurrency 64 --duration 60s --verify [--expect-pcrs pcrs.json | --insecure-skip-attestation]
 * java -cp keycast-bench.jar dev.keycast.bench.LoadTool big-send --host URL --recipients 10000 \
 *     --key-cache rsa-10k.txt
 * java -cp keycast-bench.jar dev.keycast.bench.LoadTool kdm-screens --host URL --screens 10000 \
 *     --cache screens.txt --expect-pcrs measurements.json --trust-root mock-root.pem --sender-key studio.key.pem
 * </pre>
 */
@Command(
    name = "keycast-load",
    mixinStandardHelpOptions = true,
    description = "Load generator for the Keycast host API (api.md section 2).",
    subcommands = {
      RegisterCommand.class,
      SendsCommand.class,
      BigSendCommand.class,
      KdmScreensCommand.class,
      FaultCampaignCommand.class
    })
public final class LoadTool implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Runs the tool; exit status 0 on success, 1 when the run saw errors, 2 on bad usage. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line (for tests). */
  public static CommandLine commandLine() {
    return new CommandLine(new LoadTool());
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
