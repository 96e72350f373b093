package dev.keycast.enclave.keyset;

import static dev.keycast.enclave.keyset.KmsWorld.PARENT;
import static dev.keycast.enclave.keyset.KmsWorld.REGION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Credentials handed to the enclave never reach a log line or an error message: everything logged
 * through SLF4J in this JVM (the enclave's classes, the mock KMS and Netty at DEBUG; the AWS SDK at
 * INFO) is captured through a success, a denial, a tampered set and rejected credentials.
 *
 * <p>The AWS SDK MUST stay at INFO or above in the enclave: at DEBUG its SigV4 signer
 * ({@code software.amazon.awssdk.http.auth.aws.internal.signer}) logs the canonical request,
 * including {@code x-amz-security-token} (seen with this test at DEBUG). HttpClient 4.5 logs
 * through commons-logging to {@code java.util.logging}, whose default level (INFO) omits its wire
 * and header logs; those print the same header and must never be enabled (kms-sealing.md).
 */
class KmsCredentialsNotLoggedTest {
  @TempDir Path tmp;

  @Test
  void credentialsAppearInNoLogAndNoError() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Map<String, Level> saved = new HashMap<>();
    Map<String, Level> levels =
        Map.of(
            org.slf4j.Logger.ROOT_LOGGER_NAME,
            Level.DEBUG,
            "dev.keycast",
            Level.DEBUG,
            "software.amazon.awssdk",
            Level.INFO);
    levels.forEach(
        (name, level) -> {
          Logger l = (Logger) LoggerFactory.getLogger(name);
          saved.put(name, l.getLevel());
          l.setLevel(level);
        });
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.start();
    root.addAppender(captured);
    List<String> errors = new ArrayList<>();
    try (KmsWorld world = new KmsWorld(tmp.resolve("w"))) {
      KmsKeySetService ok = world.service();
      byte[] sealed = ok.init(world.keyArn, REGION, PARENT).sealedKeySet();
      world.service().unseal(sealed, REGION, PARENT);

      Files.writeString(tmp.resolve("other.jar"), "other image");
      MockAttester other =
          MockAttester.create(
              world.attester.stateDirectory(),
              MockMeasurements.of(List.of(tmp.resolve("other.jar")), "rt"),
              Clock.systemUTC());
      KmsKeySetService denied = KmsKeySetService.create(other, new SecureRandom(), world.connector);
      KeySetException d =
          catchThrowableOfType(KeySetException.class, () -> denied.unseal(sealed, REGION, PARENT));
      assertThat(d.code()).isEqualTo(ErrorCode.KMS_ACCESS_DENIED);
      errors.add(d.getMessage());
      errors.add(denied.readiness().reason());

      byte[] bad = sealed.clone();
      bad[bad.length - 1] ^= 1;
      KeySetException t =
          catchThrowableOfType(
              KeySetException.class, () -> world.service().unseal(bad, REGION, PARENT));
      assertThat(t.code()).isEqualTo(ErrorCode.SEALED_KEY_SET_INVALID);
      errors.add(t.getMessage());

      EnclaveApi.AwsCredentials wrongSecret =
          new EnclaveApi.AwsCredentials(
              PARENT.accessKeyId(),
              "WrOnG-secret-0000000000000000000000000",
              PARENT.sessionToken(),
              null);
      KeySetException w =
          catchThrowableOfType(
              KeySetException.class, () -> world.service().unseal(sealed, REGION, wrongSecret));
      assertThat(w.code()).isEqualTo(ErrorCode.KMS_ACCESS_DENIED);
      assertThat(w.getMessage()).startsWith("KMS rejected the credentials for Decrypt");
      errors.add(w.getMessage());
      errors.add(String.valueOf(w.getCause()));
    } finally {
      root.detachAppender(captured);
      saved.forEach((name, level) -> ((Logger) LoggerFactory.getLogger(name)).setLevel(level));
    }

    assertThat(captured.list).isNotEmpty();
    assertThat(captured.list)
        .anyMatch(e -> e.getFormattedMessage().contains("unsealed with KMS key"));
    List<String> secrets = List.of(PARENT.secretAccessKey(), PARENT.sessionToken(), "WrOnG-secret");
    for (ILoggingEvent e : captured.list) {
      String text =
          e.getFormattedMessage()
              + (e.getThrowableProxy() == null
                  ? ""
                  : ThrowableProxyUtil.asString(e.getThrowableProxy()));
      for (String s : secrets) {
        assertThat(text).as("log event of %s", e.getLoggerName()).doesNotContain(s);
      }
      if (e.getLoggerName().startsWith("dev.keycast.enclave")) {
        assertThat(text).doesNotContain(PARENT.accessKeyId());
      }
    }
    for (String m : errors) {
      for (String s : secrets) {
        assertThat(m).doesNotContain(s);
      }
      assertThat(m).doesNotContain(PARENT.accessKeyId());
    }
    assertThat(PARENT.toString())
        .doesNotContain(PARENT.secretAccessKey())
        .doesNotContain(PARENT.sessionToken());
  }
}
