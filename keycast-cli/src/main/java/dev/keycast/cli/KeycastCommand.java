package dev.keycast.cli;

import dev.keycast.protocol.Json;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Base of the client commands: runs {@link #run()}, turns a {@link CliException} or {@link
 * HostException} into exactly one stderr line {@code "keycast <command>: <what to fix>"} and its
 * exit code, and offers {@code --json} (one JSON object on stdout).
 */
abstract class KeycastCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--json",
      description = "Print one JSON object on stdout (for scripts) instead of text.")
  boolean json;

  /** Does the work; returns an exit code (usually {@link ExitCodes#OK}). */
  abstract int run() throws CliException, HostException;

  @Override
  public final Integer call() {
    try {
      int code = run();
      out().flush();
      return code;
    } catch (CliException e) {
      return fail(e.exitCode(), e.getMessage());
    } catch (HostException e) {
      return fail(e.exitCode(), e.getMessage());
    }
  }

  private int fail(int code, String message) {
    out().flush();
    err().println(spec.qualifiedName() + ": " + oneLine(message));
    err().flush();
    return code;
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Writes {@code value} as one JSON object (snake_case, like the HTTP APIs) on stdout. */
  void printJson(Object value) {
    out().println(new String(Json.encode(value), java.nio.charset.StandardCharsets.UTF_8));
  }

  static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("[\\r\\n]+", " ").strip();
  }
}
