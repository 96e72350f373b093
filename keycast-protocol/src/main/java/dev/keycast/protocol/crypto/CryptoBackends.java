package dev.keycast.protocol.crypto;

import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the process's {@link CryptoBackend} once, on first use.
 *
 * <p>The system property {@value #PROPERTY} selects it:
 *
 * <ul>
 *   <li>{@code auto} (the default): {@code openssl} when {@code libcrypto.so.3} loads and its
 *       known-answer self-test passes, otherwise {@code java};
 *   <li>{@code openssl}: OpenSSL or fail ({@link #get()} throws {@link IllegalStateException});
 *   <li>{@code java}: the pure-Java backend, libcrypto is never loaded.
 * </ul>
 *
 * The choice is logged once at DEBUG through {@link System.Logger} (logger {@code
 * dev.keycast.protocol.crypto}); servers log {@link #description()} at start-up. The OpenSSL backend needs {@code
 * --enable-native-access=ALL-UNNAMED} (or the manifest attribute {@code Enable-Native-Access:
 * ALL-UNNAMED}) to load without a JVM warning.
 */
public final class CryptoBackends {
  /** The system property naming the backend: {@code auto}, {@code openssl} or {@code java}. */
  public static final String PROPERTY = "keycast.crypto";

  private CryptoBackends() {}

  /**
   * The backend chosen by {@value #PROPERTY}, decided on the first call and fixed for the life of
   * the process.
   *
   * @throws IllegalStateException if the setting is {@code openssl} and libcrypto is unusable, or
   *     the setting is not one of the three values
   */
  public static CryptoBackend get() {
    if (Selected.BACKEND == null) {
      throw new IllegalStateException(Selected.FAILURE);
    }
    return Selected.BACKEND;
  }

  /**
   * One line naming the process's backend and why, for a server's start-up log, e.g. {@code
   * "openssl (OpenSSL 3.0.19 27 Jan 2026; keycast.crypto=auto)"} or {@code "java
   * (keycast.crypto=auto; openssl unavailable: cannot load libcrypto.so.3: ...)"}. Calling it makes
   * the choice (as {@link #get()} does) but never throws. No secrets.
   */
  public static String description() {
    return Selected.DESCRIPTION;
  }

  /** The pure-Java backend (always available). */
  public static CryptoBackend java() {
    return JavaCryptoBackend.INSTANCE;
  }

  /** The OpenSSL backend, when {@code libcrypto.so.3} loaded and passed its self-test. */
  public static Optional<CryptoBackend> openssl() {
    return Optional.ofNullable(OpenSsl.BACKEND);
  }

  /** Why the OpenSSL backend is unavailable; empty when it is available. */
  public static Optional<String> opensslUnavailableReason() {
    return Optional.ofNullable(OpenSsl.FAILURE);
  }

  /**
   * The backend a setting names ({@code auto}, {@code openssl}, {@code java}; case-insensitive;
   * null means {@code auto}), without logging.
   *
   * @throws IllegalStateException for {@code openssl} when it is unavailable
   * @throws IllegalArgumentException for any other setting
   */
  public static CryptoBackend forSetting(String setting) {
    String s = setting == null ? "auto" : setting.trim().toLowerCase(Locale.ROOT);
    return switch (s) {
      case "java" -> java();
      case "openssl" ->
          openssl()
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          PROPERTY
                              + "=openssl but the OpenSSL backend is unavailable: "
                              + OpenSsl.FAILURE));
      case "auto", "" -> openssl().orElse(java());
      default ->
          throw new IllegalArgumentException(
              PROPERTY + " must be auto, openssl or java, not '" + setting + "'");
    };
  }

  /** Lazily-initialised, immutable: the OpenSSL backend or why it is missing. */
  private static final class OpenSsl {
    static final CryptoBackend BACKEND;
    static final String FAILURE;

    static {
      CryptoBackend b = null;
      String failure = null;
      try {
        b = OpenSslCryptoBackend.load();
      } catch (IllegalStateException | UnsupportedOperationException | LinkageError e) {
        failure = e.getMessage();
      }
      BACKEND = b;
      FAILURE = failure;
    }
  }

  /** Lazily-initialised, immutable: the process's choice. */
  private static final class Selected {
    static final CryptoBackend BACKEND;
    static final String FAILURE;
    static final String DESCRIPTION;

    static {
      String setting = System.getProperty(PROPERTY, "auto");
      System.Logger log = System.getLogger("dev.keycast.protocol.crypto");
      CryptoBackend chosen = null;
      String failure = null;
      try {
        chosen = forSetting(setting);
      } catch (IllegalStateException | IllegalArgumentException e) {
        failure = e.getMessage();
        log.log(System.Logger.Level.ERROR, "crypto backend: {0}", failure);
      }
      BACKEND = chosen;
      FAILURE = failure;
      String description;
      if (BACKEND == null) {
        description = "unavailable: " + failure; // get() throws with FAILURE
      } else if (BACKEND instanceof OpenSslCryptoBackend o) {
        description = "openssl (" + o.version() + "; " + PROPERTY + "=" + setting + ")";
      } else {
        description =
            "java ("
                + PROPERTY
                + "="
                + setting
                + (OpenSsl.FAILURE == null || setting.equalsIgnoreCase("java")
                    ? ""
                    : "; openssl unavailable: " + OpenSsl.FAILURE)
                + ")";
      }
      DESCRIPTION = description;
      // DEBUG: a command-line tool must not print it; servers log description() at start-up.
      log.log(System.Logger.Level.DEBUG, "crypto backend: {0}", description);
    }
  }
}
