package dev.keycast.host.server;

import dev.keycast.host.store.StoreException;
import dev.keycast.protocol.api.ErrorCode;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs store operations for the routes: times and counts each, and maps every failure to the API's
 * typed error (a store failure acknowledges nothing: {@code store_unavailable} or
 * {@code store_full}).
 */
final class StoreCalls {
  private static final Logger LOG = LoggerFactory.getLogger(StoreCalls.class);
  private final HostMetrics metrics;

  /** One store operation. */
  @FunctionalInterface
  interface StoreOp<T> {
    T run() throws StoreException;
  }

  StoreCalls(HostMetrics metrics) {
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  <T> T call(String op, StoreOp<T> action) throws ApiException {
    long start = System.nanoTime();
    try {
      return action.run();
    } catch (StoreException e) {
      metrics.inc(
          "keycast_host_store_errors_total", "store failures by code", "code", e.code().id());
      LOG.warn("store {} failed: {}", op, e.code().id());
      throw switch (e.code()) {
        case STORE_FULL ->
            new ApiException(ErrorCode.STORE_FULL, "the store is full; nothing was acknowledged");
        case NOT_FOUND -> new ApiException(ErrorCode.NOT_FOUND, e.getMessage());
        case CONFLICT -> new ApiException(ErrorCode.INTERNAL, "store conflict: " + e.getMessage());
        default ->
            new ApiException(
                ErrorCode.STORE_UNAVAILABLE, "the store is unavailable; nothing was acknowledged");
      };
    } catch (java.io.UncheckedIOException | IllegalArgumentException e) {
      // a delivery of the enclave's answer that does not parse, met while the store iterated it
      LOG.error("enclave answer unusable during {}: {}", op, e.getMessage());
      throw new ApiException(
          ErrorCode.INTERNAL, "the enclave's answer is unusable; nothing was " + "acknowledged");
    } catch (RuntimeException e) {
      // a store implementation bug: nothing is acknowledged
      metrics.inc("keycast_host_store_errors_total", "store failures by code", "code", "exception");
      LOG.error("store {} failed", op, e);
      throw new ApiException(
          ErrorCode.STORE_UNAVAILABLE, "the store is unavailable; nothing was acknowledged");
    } finally {
      metrics.observe(
          "keycast_host_store_seconds",
          "store operation latency",
          HostMetrics.LATENCY_BUCKETS,
          (System.nanoTime() - start) / 1e9,
          "op",
          op);
    }
  }
}
