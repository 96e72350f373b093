package dev.keycast.protocol.fuzz;

import dev.keycast.protocol.MalformedInputException;
import java.lang.management.ManagementFactory;
import java.util.regex.Pattern;

/**
 * The contract every fuzz target asserts about a parser of untrusted bytes, beyond "no crash".
 *
 * <ul>
 *   <li>Only typed errors escape: a parser either returns or throws one of the exception types it
 *       declares ({@link MalformedInputException} with a known, stable code and a human message,
 *       or the domain's own checked exception). A {@link RuntimeException} or {@link Error} from
 *       a library (NPE, index out of bounds, OOM, stack overflow, ...) fails the target.
 *   <li>Caps come before allocation: the bytes one call allocates are bounded by a linear function
 *       of the input length (measured with the JVM's per-thread allocation counter), so a declared
 *       length larger than the input cannot make the parser allocate for it.
 * </ul>
 *
 * <p>Round-trip checks live in the targets, where a writer exists.
 */
public final class FuzzContract {
  /** The shape of a stable machine-readable error code ({@code truncated}, {@code oversize}, ...). */
  public static final Pattern ERROR_CODE = Pattern.compile("[a-z][a-z0-9_]{0,63}");

  /** Fixed allowance per call: exception stack traces, crypto provider setup, small tables. */
  public static final long FIXED_ALLOCATION = 8L * 1024 * 1024;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private FuzzContract() {}

  /** A parser call under test. */
  @FunctionalInterface
  public interface Call<T> {
    T run() throws Exception;
  }

  /** The result of a call: its value, or the typed error it threw. */
  public record Outcome<T>(T value, Exception error) {
    public boolean ok() {
      return error == null;
    }
  }

  /**
   * Runs {@code call} on {@code input}; returns its value or its typed error, and fails on any
   * other throwable or on allocating more than {@code perInputByte * input.length} plus {@link
   * #FIXED_ALLOCATION} bytes.
   */
  @SafeVarargs
  public static <T> Outcome<T> typedOnly(
      byte[] input, long perInputByte, Call<T> call, Class<? extends Exception>... allowed) {
    long before = THREADS.getCurrentThreadAllocatedBytes();
    Outcome<T> outcome = run(call, allowed);
    long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
    long budget = FIXED_ALLOCATION + perInputByte * input.length;
    if (allocated > budget) {
      // The first call of a code path also pays for class loading and initialisation: measure a
      // second, warm call before blaming the parser.
      before = THREADS.getCurrentThreadAllocatedBytes();
      run(call, allowed);
      allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
      if (allocated > budget) {
        throw new AssertionError(
            "parser allocated "
                + allocated
                + " bytes for "
                + input.length
                + " input bytes (budget "
                + budget
                + "): a declared length was trusted before a cap");
      }
    }
    return outcome;
  }

  private static <T> Outcome<T> run(Call<T> call, Class<? extends Exception>[] allowed) {
    try {
      return new Outcome<>(call.run(), null);
    } catch (Exception e) {
      if (!isAllowed(e, allowed)) {
        throw new AssertionError(
            "untyped " + e.getClass().getName() + " escaped the parser: " + e.getMessage(), e);
      }
      checkTypedError(e);
      return new Outcome<>(null, e);
    } catch (StackOverflowError | OutOfMemoryError e) {
      throw new AssertionError(
          e.getClass().getSimpleName() + " in the parser: a cap is missing", e);
    }
  }

  private static boolean isAllowed(Exception e, Class<? extends Exception>[] allowed) {
    for (Class<? extends Exception> c : allowed) {
      if (c.isInstance(e)) {
        return true;
      }
    }
    return false;
  }

  /** A typed error must carry a human message and, for {@link MalformedInputException}, a stable code. */
  public static void checkTypedError(Exception e) {
    if (e.getMessage() == null || e.getMessage().isBlank()) {
      throw new AssertionError("typed error without a message: " + e.getClass().getName(), e);
    }
    if (e instanceof MalformedInputException m
        && (m.code() == null || !ERROR_CODE.matcher(m.code()).matches())) {
      throw new AssertionError("unknown error code \"" + m.code() + "\": " + m.getMessage(), e);
    }
  }
}
