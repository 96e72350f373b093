package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** The contract against real S3 protocol: s3proxy in-process on 127.0.0.1, a random port. */
class S3ArtefactStoreTest extends ArtefactStoreContract {

  private static final String ACCESS = "keycast-test";
  private static final String SECRET = "keycast-test-secret";
  private static final AtomicInteger BUCKETS = new AtomicInteger();

  private static S3Proxy proxy;
  private static URI endpoint;

  private String bucket;

  @BeforeAll
  static void startS3Proxy() throws Exception {
    proxy =
        S3Proxy.builder()
            .blobStore(new TransientNio2BlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS, SECRET)
            .build();
    proxy.start();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .pollInterval(java.time.Duration.ofMillis(25))
        .until(() -> "STARTED".equals(proxy.getState()));
    assertThat(proxy.getState()).isEqualTo("STARTED");
    endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  @AfterAll
  static void stopS3Proxy() throws Exception {
    if (proxy != null) {
      proxy.stop();
    }
  }

  static S3Client client() {
    return S3ArtefactStore.client(
        endpoint,
        Region.US_EAST_1,
        StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS, SECRET)),
        16);
  }

  S3ArtefactStore storeOn(String bucket) {
    return new S3ArtefactStore(client(), true, bucket, "keycast/", 16);
  }

  @Override
  protected ArtefactStore openFresh() {
    bucket = "keycast-" + BUCKETS.incrementAndGet();
    try (S3Client admin = client()) {
      admin.createBucket(b -> b.bucket(bucket));
    }
    return storeOn(bucket);
  }

  @Override
  protected ArtefactStore reopen(ArtefactStore current) throws Exception {
    current.close();
    return storeOn(bucket);
  }

  @Override
  @Test
  @Disabled(
      "known limitation of the S3 layout (storage.md, S3, 'Known limitation'): attempts of "
          + "one send write the same receipt and delivery keys with If-None-Match, so a retry racing "
          + "the first attempt, or following one that failed after step 2 began, gets 'conflict' "
          + "instead of a replay; it needs attempt-scoped object keys (the host waits for the "
          + "racing attempt's commit and answers the replay, SendRaces, but the store itself "
          + "still answers 'conflict')")
  void concurrentRetriesOfOneSendCommitItOnce() {}

  @Test
  void anotherParentSeesCommitsAtOnce() throws Exception {
    try (S3ArtefactStore other = storeOn(bucket)) {
      store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 1))));
      assertThat(other.findSend("s1", sha256("p1"))).isPresent();
      assertThat(other.commitSend(send("s1", "p1", List.of())).replayed()).isTrue();
      other.putSealedKeySet(1, bytes("ks"));
      assertThat(code(() -> store.putSealedKeySet(1, bytes("other"))))
          .isEqualTo(StoreException.Code.CONFLICT);
    }
  }

  @Test
  void objectsWithoutAManifestAreNeverReturned() throws Exception {
    store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 1))));
    // a crashed commit: its receipt and delivery objects exist, its manifest does not
    assertThatThrownBy(
            () ->
                store.commitSend(
                    send(
                        meta("s2", "p2", true, null),
                        () ->
                            new java.util.Iterator<Delivery>() {
                              int i;

                              @Override
                              public boolean hasNext() {
                                return true;
                              }

                              @Override
                              public Delivery next() {
                                if (i == 20) {
                                  throw new IllegalStateException("crash");
                                }
                                return delivery("s2", i == 0 ? "a" : "b" + i, i++);
                              }
                            })))
        .isInstanceOf(IllegalStateException.class);
    try (S3Client raw = client()) {
      List<String> keys =
          raw
              .listObjectsV2(
                  b -> b.bucket(bucket).prefix("keycast/deliveries/by-id/" + id("s2", "a")))
              .contents()
              .stream()
              .map(o -> o.key())
              .toList();
      assertThat(keys).isNotEmpty(); // the orphans really are there
      assertThat(raw.headObject(b -> b.bucket(bucket).key("keycast/receipts/s2"))).isNotNull();
    }
    assertNothingOf("s2", "p2", List.of("a", "b1", "b19"));
    assertThat(store.getDelivery(id("s2", "a"))).isEmpty();
    assertThat(store.listDeliveries(fp("a"), null, 100))
        .extracting(StoredDelivery::sendId)
        .containsExactly("s1");
  }

  @Test
  void deletingTheManifestHidesTheSend() throws Exception {
    store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 1))));
    try (S3ArtefactStore fresh = storeOn(bucket);
        S3Client raw = client()) {
      raw.deleteObject(
          b ->
              b.bucket(bucket)
                  .key("keycast/payload-hash/" + java.util.HexFormat.of().formatHex(sha256("p1"))));
      assertThat(fresh.getSend("s1")).isEmpty();
      assertThat(fresh.getDelivery(id("s1", "a"))).isEmpty();
      assertThat(fresh.listDeliveries(fp("a"), null, 10)).isEmpty();
      assertThat(fresh.getReceipt("s1")).isEmpty();
    }
  }

  @Test
  void tamperedManifestIsReportedAsCorrupt() throws Exception {
    store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 1))));
    try (S3ArtefactStore fresh = storeOn(bucket);
        S3Client raw = client()) {
      String key = "keycast/payload-hash/" + java.util.HexFormat.of().formatHex(sha256("p1"));
      raw.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromString("{\"sendId\":3}"));
      assertThat(code(() -> fresh.getSend("s1"))).isEqualTo(StoreException.Code.STORE_CORRUPT);
    }
  }

  @Test
  void unreachableBucketIsUnavailable() throws Exception {
    try (S3ArtefactStore missing = storeOn("no-such-bucket")) {
      assertThat(code(() -> missing.putSealedKeySet(1, bytes("x"))))
          .isEqualTo(StoreException.Code.STORE_UNAVAILABLE);
    }
  }
}
