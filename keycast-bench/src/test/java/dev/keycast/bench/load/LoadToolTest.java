package dev.keycast.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.bench.LoadTool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The load tool against {@link FakeHost}: argument handling, sealing, error counts, verification. */
class LoadToolTest {
  @TempDir Path dir;
  FakeHost host;
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
  }

  @AfterEach
  void stop() {
    host.close();
  }

  int run(String... args) {
    CommandLine cl = LoadTool.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void registerThenSendsWithVerification() throws Exception {
    Path cache = dir.resolve("recipients.txt");
    assertThat(
            run(
                "register",
                "--host",
                host.uri().toString(),
                "--count",
                "20",
                "--out",
                cache.toString(),
                "--insecure-skip-attestation"))
        .as(out + " " + err)
        .isZero();
    assertThat(host.recipients).hasSize(20);
    assertThat(Files.readAllLines(cache)).hasSize(21).first().isEqualTo("anchor -");

    host.failEvery = 7;
    int status =
        run(
            "sends",
            "--host",
            host.uri().toString(),
            "--recipients-file",
            cache.toString(),
            "--concurrency",
            "4",
            "--duration",
            "1s",
            "--presealed",
            "20",
            "--verify",
            "--insecure-skip-attestation",
            "--json",
            dir.resolve("s.json").toString(),
            "--samples",
            dir.resolve("samples.txt").toString());
    String o = out.toString();
    // 503s are errors: exit status 1, counted by code
    assertThat(status).as(o + err).isEqualTo(1);
    assertThat(host.decryptionFailures)
        .hasValue(0); // every payload opened with api.md's info and aad
    assertThat(o).containsPattern("errors: [1-9][0-9,]* \\{overloaded=[1-9]");
    assertThat(o)
        .containsPattern("verified: ([0-9,]+) of \\1 acknowledged sends retrievable, 0 missing");
    assertThat(o).contains("latency ms: p50");
    // the pool ran out and sends were sealed inline (20, not more: a loaded 2-core machine made
    // fewer than 50 sends in the second)
    assertThat(host.sends.get()).isGreaterThan(20);
    assertThat(o).contains("sealed inline");
    assertThat(Files.readString(dir.resolve("s.json"))).contains("\"p99_ms\"");
    assertThat(err.toString())
        .contains("WARNING: --insecure-skip-attestation: sealing to an UNVERIFIED key");
    // one sample per acknowledged send: "end_ms latency_us", ended within the 1 s run
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile(": ([0-9,]+) sends acknowledged").matcher(o);
    assertThat(m.find()).as(o).isTrue();
    long acknowledged = Long.parseLong(m.group(1).replace(",", ""));
    List<String> samples = Files.readAllLines(dir.resolve("samples.txt"));
    assertThat(samples).hasSize((int) acknowledged);
    for (String line : samples) {
      String[] f = line.split(" ");
      assertThat(f).as(line).hasSize(2);
      assertThat(Long.parseLong(f[0])).as(line).isBetween(0L, 5_000L);
      assertThat(Long.parseLong(f[1])).as(line).isPositive();
    }
  }

  @Test
  void verificationDetectsMissingReceipts() throws Exception {
    Path list = dir.resolve("fps.txt");
    run(
        "register",
        "--host",
        host.uri().toString(),
        "--count",
        "3",
        "--out",
        dir.resolve("c").toString());
    Files.writeString(
        list, "# one per line\n" + String.join("\n", host.recipients.keySet()) + "\n");
    Thread forget =
        Thread.ofPlatform()
            .daemon()
            .start(
                () -> {
                  while (!Thread.currentThread().isInterrupted()) {
                    host.receipts.keySet().stream()
                        .findFirst()
                        .ifPresent(k -> host.receipts.put(k + "x", "y"));
                    host.receipts
                        .entrySet()
                        .removeIf(e -> e.getKey().hashCode() % 2 == 0 && !e.getKey().endsWith("x"));
                    try {
                      Thread.sleep(
                          5); // paces the tampering thread (it runs for the whole load), not a wait
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
    int status =
        run(
            "sends",
            "--host",
            host.uri().toString(),
            "--recipients-file",
            list.toString(),
            "--concurrency",
            "2",
            "--duration",
            "500ms",
            "--presealed",
            "20",
            "--verify",
            "--insecure-skip-attestation");
    forget.interrupt();
    assertThat(status).isEqualTo(1);
    assertThat(out.toString())
        .containsPattern(
            "verified: [0-9,]+ of [0-9,]+ acknowledged sends retrievable, [1-9][0-9,]* missing");
  }

  @Test
  void atARateEveryScheduledSendGoesAndItsLatencyCountsFromItsScheduledTime() throws Exception {
    Path list = dir.resolve("fps.txt");
    run(
        "register",
        "--host",
        host.uri().toString(),
        "--count",
        "2",
        "--out",
        dir.resolve("c").toString(),
        "--insecure-skip-attestation");
    Files.writeString(list, String.join("\n", host.recipients.keySet()) + "\n");
    // 40 sends/s for 0.5 s is 20 sends, due every 25 ms; one client whose sends take 50 ms each
    // falls behind by 25 ms a send, so the last one (due at 475 ms, started at >= 950 ms) waited
    // at least 475 ms for its turn: a tool that timed from the request would report about 50 ms.
    host.sendMillis = 50;
    int status =
        run(
            "sends",
            "--host",
            host.uri().toString(),
            "--recipients-file",
            list.toString(),
            "--concurrency",
            "1",
            "--rate",
            "40",
            "--duration",
            "500ms",
            "--presealed",
            "20",
            "--insecure-skip-attestation",
            "--json",
            dir.resolve("s.json").toString());
    String o = out.toString();
    assertThat(status).as(o + err).isZero();
    assertThat(host.sends).hasValue(20);
    assertThat(o).contains("offered rate 40 sends/s").contains(": 20 sends acknowledged");
    java.util.Map<?, ?> summary =
        dev.keycast.protocol.Json.decode(
            Files.readAllBytes(dir.resolve("s.json")), 1 << 20, java.util.Map.class);
    assertThat(((Number) summary.get("max_ms")).doubleValue())
        .as(o)
        .isGreaterThanOrEqualTo(475 + 50);
    // every send after the first falls behind the one client; the first is on time unless the
    // machine is so loaded that it too starts late (its grace is 5 ms), so 19 or 20
    assertThat(((Number) summary.get("late_starts")).longValue()).as(o).isBetween(19L, 20L);

    // a warm-up is the start of the same schedule: 250 ms of it is 10 sends, not counted
    host.sendMillis = 0;
    out.getBuffer().setLength(0);
    assertThat(
            run(
                "sends",
                "--host",
                host.uri().toString(),
                "--recipients-file",
                list.toString(),
                "--concurrency",
                "4",
                "--rate",
                "40",
                "--warmup",
                "250ms",
                "--duration",
                "500ms",
                "--presealed",
                "30",
                "--insecure-skip-attestation"))
        .as(out + " " + err)
        .isZero();
    assertThat(host.sends).hasValue(20 + 30);
    assertThat(out.toString())
        .contains("warm-up of PT0.25S done")
        .contains(": 20 sends acknowledged");
  }

  @Test
  void attestationIsVerifiedUnlessSkipped() throws Exception {
    Path list = dir.resolve("fps.txt");
    Files.writeString(list, "ab".repeat(32) + "\n");
    int status =
        run(
            "sends",
            "--host",
            host.uri().toString(),
            "--recipients-file",
            list.toString(),
            "--duration",
            "1s",
            "--presealed",
            "1");
    assertThat(status).isNotZero();
    assertThat(err.toString()).contains("attestation does not verify");
    assertThat(host.sends).hasValue(0);
  }

  @Test
  void bigSendByFingerprintsAndByAnchor() throws Exception {
    Path cache = dir.resolve("x.txt");
    assertThat(
            run(
                "big-send",
                "--host",
                host.uri().toString(),
                "--recipients",
                "30",
                "--kind",
                "x25519",
                "--key-cache",
                cache.toString(),
                "--verify",
                "--insecure-skip-attestation"))
        .as(out + " " + err)
        .isZero();
    assertThat(out.toString())
        .containsPattern("one send to 30 recipients: [0-9.]+ s wall time .*30 delivered");
    assertThat(out.toString()).contains("retrievable");
    assertThat(host.policies.values())
        .singleElement()
        .satisfies(p -> assertThat(p.recipients().fingerprints()).hasSize(30));

    // the cache is reused: same fingerprints, registered again as already known
    out.getBuffer().setLength(0);
    assertThat(
            run(
                "big-send",
                "--host",
                host.uri().toString(),
                "--recipients",
                "10",
                "--kind",
                "x25519",
                "--key-cache",
                cache.toString(),
                "--insecure-skip-attestation"))
        .isZero();
    assertThat(out.toString())
        .contains("reusing 10 recipients")
        .contains("0 new, 10 already known");

    out.getBuffer().setLength(0);
    assertThat(
            run(
                "big-send",
                "--host",
                host.uri().toString(),
                "--recipients",
                "5",
                "--select",
                "anchor",
                "--insecure-skip-attestation"))
        .as(out + " " + err)
        .isZero();
    assertThat(out.toString()).contains("rsa2048 recipients with chains").contains("5 delivered");
  }

  @Test
  void badArguments() throws Exception {
    assertThat(run("sends", "--recipients-file", "x")).isEqualTo(2);
    assertThat(err.toString()).contains("Missing required option: '--host=URL'");
    assertThat(
            run(
                "sends",
                "--host",
                "http://127.0.0.1:1",
                "--recipients-file",
                "x",
                "--duration",
                "soon"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("'soon' is not a duration");
    assertThat(
            run("sends", "--host", host.uri().toString(), "--recipients-file", "x", "--rate", "-5"))
        .isNotZero();
    assertThat(err.toString()).contains("--rate must be 0..1000000 sends per second, not -5.0");
    Path bad = dir.resolve("bad.txt");
    Files.writeString(bad, "not-a-fingerprint\n");
    assertThat(
            run(
                "sends",
                "--host",
                host.uri().toString(),
                "--recipients-file",
                bad.toString(),
                "--insecure-skip-attestation"))
        .isNotZero();
    assertThat(err.toString()).contains("line 1: not a fingerprint");
    assertThat(
            run(
                "big-send",
                "--host",
                host.uri().toString(),
                "--recipients",
                "5000",
                "--select",
                "fingerprints"))
        .isNotZero();
    assertThat(err.toString()).contains("at most 3000 recipients");
    assertThat(
            run(
                "register",
                "--host",
                "ftp://x",
                "--count",
                "1",
                "--out",
                dir.resolve("o").toString()))
        .isNotZero();
    assertThat(err.toString()).contains("must be an http:// or https:// URL");
  }
}
