package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs {@code keycast} in-process and captures its streams. */
final class Cli {
  record Run(int exit, String out, String err) {
    /** Asserts the error discipline: the exit code and exactly one stderr line with the prefix. */
    Run failsWith(int code, String prefix) {
      assertThat(exit).as("exit code; stderr: " + err + "; stdout: " + out).isEqualTo(code);
      assertThat(err.split("\\R")).as(err).hasSize(1);
      assertThat(err).startsWith(prefix).doesNotContain("\tat ").doesNotContain("Exception:");
      return this;
    }

    Run ok() {
      assertThat(exit).as("stderr: " + err + "; stdout: " + out).isEqualTo(0);
      assertThat(err).isEmpty();
      return this;
    }
  }

  private Cli() {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        KeycastCli.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true))
            .execute(args);
    return new Run(exit, out.toString(), err.toString());
  }
}
