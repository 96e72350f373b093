package dev.keycast.host.server;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.bridge.EnclaveException;
import dev.keycast.host.bridge.EnclaveResponse;
import io.netty.handler.codec.http.HttpMethod;
import java.util.Objects;

/** Calls the enclave for the routes: counts its error answers and failures, maps failures to API errors. */
final class EnclaveCalls {
  private final EnclaveClient enclave;
  private final HostMetrics metrics;

  EnclaveCalls(EnclaveClient enclave, HostMetrics metrics) {
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /** The client itself (for streamed requests). */
  EnclaveClient client() {
    return enclave;
  }

  /** Any answer of the enclave (an error answer is counted); a failure to get one is thrown. */
  EnclaveResponse call(HttpMethod method, String path, byte[] body)
      throws ApiException, InterruptedException {
    try {
      EnclaveResponse r = enclave.call(method, path, body);
      if (!r.ok()) {
        countError(r.toException());
      }
      return r;
    } catch (EnclaveException e) {
      countError(e);
      throw unavailable(e);
    }
  }

  void countError(EnclaveException e) {
    metrics.inc(
        "keycast_host_enclave_errors_total",
        "error answers and failures of the enclave",
        "code",
        e.code().code());
  }

  static ApiException unavailable(EnclaveException e) {
    return new ApiException(e.code(), e.status(), e.getMessage());
  }

  /** A 2xx answer decoded into {@code type}; an error answer is relayed as its typed error. */
  static <T> T decode(EnclaveResponse r, Class<T> type) throws ApiException {
    try {
      return r.decode(type, Integer.MAX_VALUE);
    } catch (EnclaveException e) {
      throw unavailable(e);
    }
  }
}
