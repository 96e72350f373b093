package dev.keycast.host.store;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The S3 store's objects: puts (conditional ones recognise their own retried write), capped gets,
 * listings under the store's prefix, batches of parallel requests with back-pressure, and the
 * mapping of S3 failures to {@link StoreException} codes. Knows no layout and no record format.
 */
final class S3Objects implements AutoCloseable {
  /** The largest object of a small record (everything but a receipt) a read accepts. */
  static final int MAX_SMALL_OBJECT = 4 << 20;

  private static final String WRITE_ID = "keycast-write-id";

  private final S3Client s3;
  private final boolean ownsClient;
  private final String bucket;
  private final String prefix;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Semaphore inFlight;

  S3Objects(S3Client s3, boolean ownsClient, String bucket, String keyPrefix, int parallelism) {
    this.s3 = Objects.requireNonNull(s3, "s3");
    this.ownsClient = ownsClient;
    this.bucket = Objects.requireNonNull(bucket, "bucket");
    this.prefix = Objects.requireNonNull(keyPrefix, "keyPrefix");
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      throw new IllegalArgumentException("key prefix must be empty or end with '/'");
    }
    if (parallelism < 1 || parallelism > 256) {
      throw new IllegalArgumentException("parallelism must be 1..256");
    }
    this.inFlight = new Semaphore(parallelism);
  }

  /**
   * An S3 client on Apache HttpClient (pooled keep-alive connections, one per parallel request,
   * and retries of requests whose connection the server closed) for {@code endpoint} (null = AWS)
   * with path-style addressing when an endpoint is given.
   */
  static S3Client client(
      URI endpoint, Region region, AwsCredentialsProvider credentials, int maxConnections) {
    var b =
        S3Client.builder()
            .httpClientBuilder(ApacheHttpClient.builder().maxConnections(maxConnections))
            .region(region)
            .credentialsProvider(credentials);
    if (endpoint != null) {
      b.endpointOverride(endpoint).forcePathStyle(true);
    }
    return b.build();
  }

  @Override
  public void close() {
    executor.close();
    if (ownsClient) {
      s3.close();
    }
  }

  /** A new batch of parallel requests. */
  <T> Batch<T> batch() {
    return new Batch<>();
  }

  /** How many keys there are under {@code sub}. */
  long count(String sub) throws StoreException {
    long count = 0;
    String token = null;
    try {
      do {
        ListObjectsV2Request.Builder req =
            ListObjectsV2Request.builder().bucket(bucket).prefix(prefix + sub).maxKeys(1000);
        if (token != null) {
          req.continuationToken(token);
        }
        ListObjectsV2Response resp = s3.listObjectsV2(req.build());
        count += resp.contents().size();
        token = Boolean.TRUE.equals(resp.isTruncated()) ? resp.nextContinuationToken() : null;
      } while (token != null);
    } catch (SdkException e) {
      throw map(e, "count " + sub);
    }
    return count;
  }

  /** Puts an object. Returns false if {@code ifAbsent} and the key already exists. */
  boolean put(String key, byte[] body, boolean ifAbsent) throws StoreException {
    PutObjectRequest.Builder req = PutObjectRequest.builder().bucket(bucket).key(prefix + key);
    // A conditional put whose answer is lost is retried by the SDK and then sees its own object
    // (412). Each logical write carries a random id so such a retry is recognised as success.
    String writeId = UUID.randomUUID().toString();
    if (ifAbsent) {
      req.ifNoneMatch("*").metadata(Map.of(WRITE_ID, writeId));
    }
    PutObjectRequest request = req.build();
    for (int attempt = 1; ; attempt++) {
      try {
        s3.putObject(request, RequestBody.fromBytes(body));
        return true;
      } catch (S3Exception e) {
        if (ifAbsent && e.statusCode() == 412) {
          return writtenBy(key, writeId);
        }
        if (e.statusCode() == 409 && attempt < 5) {
          // ConditionalRequestConflict: a concurrent conditional write on the key; S3 asks to retry
          pause(attempt);
          continue;
        }
        throw map(e, "put " + key);
      } catch (SdkException e) {
        throw map(e, "put " + key);
      }
    }
  }

  /** True when the object at {@code key} was written by the logical write {@code writeId}. */
  private boolean writtenBy(String key, String writeId) throws StoreException {
    try {
      HeadObjectResponse head =
          s3.headObject(HeadObjectRequest.builder().bucket(bucket).key(prefix + key).build());
      return writeId.equals(head.metadata().get(WRITE_ID));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw map(e, "head " + key);
    } catch (SdkException e) {
      throw map(e, "head " + key);
    }
  }

  private static void pause(int attempt) throws StoreException {
    try {
      Thread.sleep(20L * attempt);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", e);
    }
  }

  /** Gets an object of at most {@code cap} bytes. */
  Optional<byte[]> get(String key, int cap) throws StoreException {
    GetObjectRequest req = GetObjectRequest.builder().bucket(bucket).key(prefix + key).build();
    try (ResponseInputStream<GetObjectResponse> in = s3.getObject(req)) {
      Long len = in.response().contentLength();
      if (len != null && len > cap) {
        throw new StoreException(
            StoreException.Code.STORE_CORRUPT,
            "object " + key + " is " + len + " bytes, limit " + cap);
      }
      byte[] body = readCapped(in, cap);
      if (body == null) {
        throw new StoreException(
            StoreException.Code.STORE_CORRUPT, "object " + key + " is over " + cap + " bytes");
      }
      return Optional.of(body);
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw map(e, "get " + key);
    } catch (SdkException e) {
      throw map(e, "get " + key);
    } catch (IOException e) {
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "get " + key + " failed", e);
    }
  }

  private static byte[] readCapped(InputStream in, int cap) throws IOException {
    byte[] b = in.readNBytes(cap + 1);
    return b.length > cap ? null : b;
  }

  /** Keys (without the store prefix) under {@code sub}, after {@code startAfter}, at most max. */
  List<String> list(String sub, String startAfter, int max) throws StoreException {
    List<String> keys = new ArrayList<>();
    String token = null;
    try {
      do {
        ListObjectsV2Request.Builder req =
            ListObjectsV2Request.builder()
                .bucket(bucket)
                .prefix(prefix + sub)
                .maxKeys(Math.min(1000, max - keys.size()));
        if (token != null) {
          req.continuationToken(token);
        } else if (startAfter != null) {
          req.startAfter(prefix + startAfter);
        }
        ListObjectsV2Response resp = s3.listObjectsV2(req.build());
        for (S3Object o : resp.contents()) {
          keys.add(o.key().substring(prefix.length()));
        }
        token = Boolean.TRUE.equals(resp.isTruncated()) ? resp.nextContinuationToken() : null;
      } while (token != null && keys.size() < max);
    } catch (SdkException e) {
      throw map(e, "list " + sub);
    }
    return keys;
  }

  static StoreException map(SdkException e, String what) {
    if (e instanceof S3Exception s3e) {
      int status = s3e.statusCode();
      String code = s3e.awsErrorDetails() == null ? "" : s3e.awsErrorDetails().errorCode();
      if (status == 412 || status == 409) {
        return new StoreException(
            StoreException.Code.CONFLICT, what + " failed (" + status + ")", e);
      }
      if ("EntityTooLarge".equals(code) || "QuotaExceeded".equals(code) || status == 507) {
        return new StoreException(
            StoreException.Code.STORE_FULL, what + " failed (" + code + ")", e);
      }
      return new StoreException(
          StoreException.Code.STORE_UNAVAILABLE,
          what + " failed (HTTP " + status + " " + code + ")",
          e);
    }
    return new StoreException(
        StoreException.Code.STORE_UNAVAILABLE,
        what + " failed (" + e.getClass().getSimpleName() + ")",
        e);
  }

  @FunctionalInterface
  interface Task<T> {
    T call() throws StoreException;
  }

  /**
   * Runs tasks on virtual threads with at most {@code parallelism} in flight; {@link #submit}
   * blocks while that many are running, which gives back-pressure to a streaming producer.
   */
  final class Batch<T> {
    private final List<Future<T>> futures = new ArrayList<>();
    private volatile StoreException failure;

    void submit(Task<T> task) throws StoreException {
      if (failure != null) {
        throw failure;
      }
      try {
        inFlight.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", e);
      }
      futures.add(
          executor.submit(
              () -> {
                try {
                  return task.call();
                } catch (StoreException e) {
                  failure = e;
                  throw e;
                } finally {
                  inFlight.release();
                }
              }));
      if (futures.size() >= 4096) {
        drainDone();
      }
    }

    private void drainDone() throws StoreException {
      futures.removeIf(f -> f.isDone() && f.state() == Future.State.SUCCESS);
      if (failure != null) {
        throw failure;
      }
    }

    /** Waits for every task; the results of tasks still held, in submission order. */
    List<T> await() throws StoreException {
      List<T> out = new ArrayList<>(futures.size());
      StoreException first = null;
      for (Future<T> f : futures) {
        try {
          out.add(f.get());
        } catch (ExecutionException e) {
          if (first == null) {
            first =
                e.getCause() instanceof StoreException se
                    ? se
                    : new StoreException(
                        StoreException.Code.STORE_UNAVAILABLE, "task failed", e.getCause());
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", e);
        }
      }
      if (first != null) {
        throw first;
      }
      return out;
    }

    /** On failure of the producer: waits for tasks in flight, ignoring their results. */
    void abandon() {
      for (Future<T> f : futures) {
        try {
          f.get();
        } catch (ExecutionException
            | InterruptedException
            | java.util.concurrent.CancellationException ignored) {
          if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
    }
  }
}
