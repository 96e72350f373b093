package dev.keycast.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** The recipients' side of the two-parent tests, through the real CLI (in-process). */
final class Recipients {
  private Recipients() {}

  /** {@code n} X25519 recipients, generated and registered alternately through host 1 and 2. */
  static List<TwoParentS3IT.Recipient> create(TwoParentStack s, String prefix, int n, int threads)
      throws Exception {
    Path keys = Files.createDirectories(s.dir().resolve("recipients"));
    List<TwoParentS3IT.Recipient> out = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      List<Future<TwoParentS3IT.Recipient>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String name = prefix + i;
        String host = s.host(1 + i % 2);
        futures.add(
            pool.submit(
                () -> {
                  String fp =
                      s.cliJson(
                              "recipient",
                              "keygen",
                              "--type",
                              "x25519",
                              "--out-dir",
                              keys.toString(),
                              "--name",
                              name,
                              "--json")
                          .path("fingerprint")
                          .asText();
                  Path key = keys.resolve(name + ".key.pem");
                  s.cliJson(
                      "recipient", "register", "--host", host, "--key", key.toString(), "--json");
                  return new TwoParentS3IT.Recipient(fp, key);
                }));
      }
      for (Future<TwoParentS3IT.Recipient> f : futures) {
        out.add(f.get());
      }
    }
    return out;
  }

  /**
   * Each recipient fetches (list, download, verify against the signed receipt, decrypt) through
   * one host: recipient {@code i} through host {@code 1 + (i + pass) % 2}, so two passes use both
   * hosts for everyone; asserts every expected delivery came and decrypted to the secret sent.
   */
  static void fetchAll(
      TwoParentStack s,
      List<TwoParentS3IT.Recipient> recipients,
      Map<String, Integer> expected,
      Map<String, byte[]> secrets,
      int threads,
      int pass)
      throws Exception {
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      List<Future<?>> futures = new ArrayList<>();
      for (int i = 0; i < recipients.size(); i++) {
        TwoParentS3IT.Recipient r = recipients.get(i);
        String host = s.host(1 + (i + pass) % 2);
        Path out = s.dir().resolve("fetch-" + pass + "/" + r.key().getFileName());
        futures.add(
            pool.submit(
                () -> {
                  fetchOne(s, r, host, out, expected.getOrDefault(r.fingerprint(), 0), secrets);
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    }
  }

  static void fetchOne(
      TwoParentStack s,
      TwoParentS3IT.Recipient r,
      String host,
      Path out,
      int expected,
      Map<String, byte[]> secrets)
      throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "fetch",
                "--host",
                host,
                "--key",
                r.key().toString(),
                "--out-dir",
                out.toString(),
                "--bundle",
                s.bundle().toString(),
                "--json",
                "--expect-sender",
                s.senderPub("studio").toString()));
    args.addAll(s.pins());
    JsonNode f = s.cliJson(args);
    assertThat(f.path("failed").asInt()).as("fetch of %s via %s: %s", r, host, f).isZero();
    assertThat(f.path("fetched").asInt())
        .as("fetch of %s via %s: %s", r, host, f)
        .isEqualTo(expected);
    for (JsonNode d : f.path("deliveries")) {
      byte[] want = secrets.get(d.path("secret_id").asText());
      assertThat(want).as("a delivery of a send this test made: %s", d).isNotNull();
      assertThat(Files.readAllBytes(Path.of(d.path("secret_file").asText())))
          .as("decrypted secret of %s", d.path("delivery_id").asText())
          .isEqualTo(want);
    }
  }
}
