package dev.keycast.cli;

import java.io.PrintWriter;

/**
 * A one-line progress indicator on stderr, shown only when stderr belongs to a terminal ({@link
 * System#console()} is not null); otherwise every method does nothing, so scripts and logs stay
 * clean. Redraws at most every 100 ms and erases itself on {@link #close()}.
 */
final class Progress implements AutoCloseable {
  private static final int WIDTH = 30;
  private final PrintWriter err;
  private final String label;
  private final long total;
  private final long started = System.nanoTime();
  private long lastDraw;
  private boolean drawn;
  private boolean closed;

  private Progress(PrintWriter err, String label, long total) {
    this.err = err;
    this.label = label;
    this.total = total;
  }

  /**
   * A progress bar over {@code total} steps (0 or less: an unbounded counter), or a silent one when
   * stderr is not a terminal or the work is too small to need one.
   */
  static Progress start(PrintWriter err, String label, long total, long worthFrom) {
    boolean show = interactive() && (total <= 0 || total >= worthFrom);
    return show ? new Progress(err, label, total) : new Progress(null, label, total);
  }

  /**
   * True when the process talks to a terminal: {@link System#console()} exists and (JDK 22+) says
   * it is a terminal; false when output is piped or redirected, as in scripts and tests.
   */
  static boolean interactive() {
    java.io.Console c = System.console();
    return c != null && c.isTerminal();
  }

  /**
   * An elapsed-time indicator for one long wait (e.g. a large send), redrawn by a background
   * thread until {@link #close()}; silent unless stderr is a terminal and {@code worth} is true.
   */
  static Progress waiting(PrintWriter err, String label, boolean worth) {
    Progress p = new Progress(interactive() && worth ? err : null, label, 0);
    if (p.err != null) {
      Thread.ofVirtual()
          .start(
              () -> {
                while (true) {
                  synchronized (p) {
                    if (p.closed) {
                      return;
                    }
                    p.drawn = true;
                    p.err.print(
                        "\r"
                            + label
                            + " "
                            + (System.nanoTime() - p.started) / 1_000_000_000L
                            + "s\u001b[K");
                    p.err.flush();
                  }
                  try {
                    Thread.sleep(250);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              });
    }
    return p;
  }

  /** Reports that {@code done} steps are finished. */
  synchronized void update(long done) {
    if (err == null) {
      return;
    }
    long now = System.nanoTime();
    if (drawn && now - lastDraw < 100_000_000L && (total <= 0 || done < total)) {
      return;
    }
    lastDraw = now;
    drawn = true;
    long secs = (now - started) / 1_000_000_000L;
    String line;
    if (total > 0) {
      int filled = (int) Math.min(WIDTH, done * WIDTH / total);
      line =
          label
              + " ["
              + "#".repeat(filled)
              + ".".repeat(WIDTH - filled)
              + "] "
              + done
              + "/"
              + total
              + " "
              + secs
              + "s";
    } else {
      line = label + " " + done + " " + secs + "s";
    }
    err.print("\r" + line + "\u001b[K");
    err.flush();
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (err != null && drawn) {
      err.print("\r\u001b[K");
      err.flush();
    }
  }
}
