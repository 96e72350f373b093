package dev.keycast.bench.load;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.OpenedDelivery;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptSignatureException;
import dev.keycast.protocol.receipt.ReceiptSigner;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * The fault campaign's checks, through the host's public API only (what a sender and the
 * recipients can see):
 *
 * <ul>
 *   <li>an acknowledged send: its receipt is answered to its sender, its signature verifies with
 *       the attested key set, it names this send and exactly the send's recipients (no skip), and
 *       each delivery it names is fetched by its recipient, matches the receipt's envelope SHA-256
 *       and decrypts with the recipient's private key to the exact secret the driver sent;
 *   <li>a send that was not acknowledged is invisible: no receipt under its send id, and no
 *       recipient lists a delivery of it.
 * </ul>
 */
final class FaultVerifier {
  /** Something the campaign must never see; every one is a loss or a leak. */
  record Problem(String kind, String sendId, String detail) {}

  private final HostClient client;
  private final KeyBundle bundle;
  private final SenderSigningKey sender;
  private final Map<String, Recipients.Generated> recipients = new HashMap<>();
  private final int concurrency;

  FaultVerifier(
      HostClient client,
      KeyBundle bundle,
      SenderSigningKey sender,
      List<Recipients.Generated> recipients,
      int concurrency) {
    this.client = client;
    this.bundle = bundle;
    this.sender = sender;
    recipients.forEach(g -> this.recipients.put(g.fingerprint(), g));
    this.concurrency = concurrency;
  }

  /** Checks every send in {@code acked}; returns the problems found (empty: all verified). */
  List<Problem> verifyAcked(Collection<FaultStream.Acked> acked)
      throws IOException, InterruptedException {
    Map<String, String> sessions = sessions();
    ConcurrentLinkedQueue<Problem> problems = new ConcurrentLinkedQueue<>();
    Semaphore gate = new Semaphore(concurrency);
    List<Future<?>> fs = new ArrayList<>();
    try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
      for (FaultStream.Acked a : acked) {
        gate.acquire();
        fs.add(
            ex.submit(
                () -> {
                  try {
                    Problem p = verifyOne(a, sessions);
                    if (p != null) {
                      problems.add(p);
                    }
                  } catch (IOException | InterruptedException e) {
                    problems.add(new Problem("unreachable", a.attempt().sendId(), e.toString()));
                  } finally {
                    gate.release();
                  }
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        try {
          f.get();
        } catch (ExecutionException e) {
          problems.add(new Problem("verifier_error", "-", e.getCause().toString()));
        }
      }
    }
    return List.copyOf(problems);
  }

  /**
   * Checks that no send outside {@code acked} is visible: no recipient lists a delivery of another
   * send, each acknowledged send is listed to exactly its recipients, and none of {@code notAcked}
   * has a receipt.
   */
  List<Problem> verifyInvisible(
      Collection<FaultStream.Acked> acked, Collection<FaultStream.Attempt> notAcked)
      throws IOException, InterruptedException {
    Map<String, String> sessions = sessions();
    Map<String, Set<String>> expected = new HashMap<>();
    for (FaultStream.Acked a : acked) {
      expected.put(a.attempt().sendId(), new HashSet<>(a.attempt().recipients()));
    }
    Map<String, Set<String>> listed = new HashMap<>();
    List<Problem> problems = new ArrayList<>();
    for (Map.Entry<String, String> s : sessions.entrySet()) {
      String after = null;
      while (true) {
        String path =
            "/v1/recipients/"
                + s.getKey()
                + "/deliveries?limit=1000"
                + (after == null ? "" : "&after=" + after);
        HostClient.Answer r = get(path, s.getValue());
        if (r.status() != 200) {
          throw new IOException("listing deliveries answered " + r.status() + " " + r.errorCode());
        }
        HostApi.DeliveryPage page = decode(r, HostApi.DeliveryPage.class);
        for (HostApi.DeliverySummary d : page.deliveries()) {
          listed.computeIfAbsent(d.sendId(), k -> new HashSet<>()).add(s.getKey());
        }
        if (page.next() == null || page.deliveries().isEmpty()) {
          break;
        }
        after = page.next();
      }
    }
    for (Map.Entry<String, Set<String>> l : listed.entrySet()) {
      Set<String> want = expected.get(l.getKey());
      if (want == null) {
        problems.add(
            new Problem("visible_unacknowledged", l.getKey(), "listed to " + l.getValue().size()));
      }
    }
    for (Map.Entry<String, Set<String>> e : expected.entrySet()) {
      Set<String> got = listed.getOrDefault(e.getKey(), Set.of());
      if (!got.equals(e.getValue())) {
        problems.add(
            new Problem(
                got.isEmpty() ? "acknowledged_missing" : "acknowledged_partial",
                e.getKey(),
                "listed to " + got.size() + " of " + e.getValue().size() + " recipients"));
      }
    }
    for (FaultStream.Attempt a : notAcked) {
      if (expected.containsKey(a.sendId())) {
        continue; // a refused answer to a retry of a send acknowledged before
      }
      HostClient.Answer r = client.getSigned("/v1/receipts/" + a.sendId(), sender);
      if (r.status() != 404) {
        problems.add(
            new Problem(
                "visible_unacknowledged",
                a.sendId(),
                "GET its receipt answered " + r.status() + " " + r.errorCode()));
      }
    }
    return problems;
  }

  private Problem verifyOne(FaultStream.Acked a, Map<String, String> sessions)
      throws IOException, InterruptedException {
    String sendId = a.attempt().sendId();
    HostApi.SendResult result = a.result();
    if (!sendId.equals(result.sendId())) {
      return new Problem("wrong_send_id", sendId, "acknowledged as " + result.sendId());
    }
    HostClient.Answer v = client.getSigned("/v1/receipts/" + result.receiptId(), sender);
    if (v.status() != 200) {
      return new Problem("receipt_missing", sendId, v.status() + " " + v.errorCode());
    }
    Receipt receipt;
    try {
      HostApi.ReceiptView view = decode(v, HostApi.ReceiptView.class);
      receipt =
          dev.keycast.protocol.receipt.ReceiptVerifier.verify(
              Base64Url.decode("receipt", view.receipt(), ReceiptSigner.MAX_ENCODED), bundle);
    } catch (MalformedInputException | ReceiptSignatureException e) {
      return new Problem("receipt_invalid", sendId, e.getMessage());
    }
    Set<String> named = new HashSet<>();
    receipt.deliveries().forEach(d -> named.add(d.recipientFingerprint()));
    if (!sendId.equals(receipt.sendId())
        || !named.equals(new HashSet<>(a.attempt().recipients()))
        || receipt.deliveries().size() != a.attempt().recipients().size()
        || !receipt.skipped().isEmpty()) {
      return new Problem(
          "receipt_wrong",
          sendId,
          "names " + named.size() + " recipients of send " + receipt.sendId());
    }
    Set<String> answered = new HashSet<>();
    result.delivered().forEach(d -> answered.add(d.deliveryId()));
    for (Receipt.Delivery d : receipt.deliveries()) {
      if (!answered.contains(d.deliveryId())) {
        return new Problem("receipt_wrong", sendId, "delivery not in the send's answer");
      }
      HostClient.Answer env =
          get("/v1/deliveries/" + d.deliveryId(), sessions.get(d.recipientFingerprint()));
      if (env.status() != 200) {
        return new Problem("delivery_missing", sendId, env.status() + " " + env.errorCode());
      }
      if (!MessageDigest.isEqual(sha256(env.body()), d.envelopeSha256())) {
        return new Problem("delivery_altered", sendId, "envelope SHA-256 differs from the receipt");
      }
      Problem p = open(a.attempt(), d.recipientFingerprint(), env.body());
      if (p != null) {
        return p;
      }
    }
    return null;
  }

  private Problem open(FaultStream.Attempt a, String fingerprint, byte[] envelope) {
    X25519PrivateKey k = null;
    OpenedDelivery opened = null;
    try {
      k = X25519PrivateKey.fromRaw(recipients.get(fingerprint).privateKey());
      opened = HpkeDeliveryFormat.INSTANCE.open(k, envelope);
      byte[] secret = opened.secret();
      boolean same =
          MessageDigest.isEqual(secret, a.secret())
              && fingerprint.equals(opened.metadata().recipientFingerprint())
              && a.secretId().equals(opened.metadata().secretId());
      Arrays.fill(secret, (byte) 0);
      return same ? null : new Problem("secret_differs", a.sendId(), "to " + fingerprint);
    } catch (MalformedInputException | DecryptionFailedException e) {
      return new Problem("undecryptable", a.sendId(), e.getClass().getSimpleName());
    } finally {
      if (opened != null) {
        opened.destroy();
      }
      if (k != null) {
        k.destroy();
      }
    }
  }

  /** A session token per recipient (api.md 2.2), made again each round (a host restart drops them). */
  private Map<String, String> sessions() throws IOException, InterruptedException {
    Map<String, String> out = new HashMap<>();
    for (Recipients.Generated g : recipients.values()) {
      try {
        HostClient.Answer c =
            client.postJson(
                "/v1/recipients/challenge",
                Json.encode(new RecipientProof.ChallengeRequest(g.registrationKey())));
        if (c.status() != 200) {
          throw new IOException("challenge answered " + c.status() + " " + c.errorCode());
        }
        RecipientProof.Challenge challenge = decode(c, RecipientProof.Challenge.class);
        HostClient.Answer s =
            client.postJson(
                "/v1/recipients/" + g.fingerprint() + "/sessions",
                Json.encode(
                    new RecipientProof.SessionRequest(
                        challenge.token(), Registrar.prove(g, challenge))));
        if (s.status() != 200) {
          throw new IOException("session answered " + s.status() + " " + s.errorCode());
        }
        out.put(g.fingerprint(), decode(s, RecipientProof.Session.class).sessionToken());
      } catch (GeneralSecurityException | MalformedInputException e) {
        throw new IOException("cannot open a session for a recipient: " + e.getMessage(), e);
      }
    }
    return out;
  }

  private HostClient.Answer get(String path, String sessionToken)
      throws IOException, InterruptedException {
    return client.getBearer(path, sessionToken);
  }

  private static <T> T decode(HostClient.Answer a, Class<T> type) throws IOException {
    try {
      return a.as(type);
    } catch (MalformedInputException e) {
      throw new IOException("an answer does not parse: " + e.getMessage(), e);
    }
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
