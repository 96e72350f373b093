package dev.keycast.host.server;

import dev.keycast.protocol.api.ErrorCode;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes requests by a table of {@link Route}s: the first route whose path pattern matches
 * answers (its method is then checked: another method is {@code method_not_allowed}); no match is
 * {@code not_found}. Every answer is counted and timed under the route's name. Knows nothing of
 * what a route does: the table is built in one place ({@link HostApiService}).
 */
final class HostRouter {
  private static final Logger LOG = LoggerFactory.getLogger(HostRouter.class);

  /** What a route does with the request and the path's variable segments. */
  @FunctionalInterface
  interface Handler {
    HttpAnswer handle(HttpCall call, List<String> vars) throws ApiException, InterruptedException;
  }

  /**
   * One route: a metrics name, the allowed method, and a path pattern of {@code /}-separated
   * segments where {@code {}} matches any one segment (handed to the handler, in order).
   */
  /** A route's method that lets its handler check the method itself (it answers method_not_allowed). */
  static final String ANY_METHOD = "*";

  record Route(String name, String method, List<String> pattern, Handler handler) {
    Route {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(method, "method");
      pattern = List.copyOf(pattern);
      Objects.requireNonNull(handler, "handler");
    }

    /** A route over a pattern such as {@code /v1/recipients/{}/deliveries}. */
    static Route of(String name, String method, String pattern, Handler handler) {
      return new Route(name, method, List.of(segments(pattern)), handler);
    }

    /** The variable segments when {@code seg} matches this route's pattern, else null. */
    List<String> match(String[] seg) {
      List<String> want = pattern;
      if (want.size() != seg.length) {
        return null;
      }
      int variables = 0;
      for (int i = 0; i < seg.length; i++) {
        if (want.get(i).equals(ANY)) {
          variables++;
        } else if (!want.get(i).equals(seg[i])) {
          return null;
        }
      }
      if (variables == 0) {
        return List.of(); // most routes: nothing allocated per request
      }
      List<String> vars = new java.util.ArrayList<>(variables);
      for (int i = 0; i < seg.length; i++) {
        if (want.get(i).equals(ANY)) {
          vars.add(seg[i]);
        }
      }
      return vars;
    }
  }

  /** The pattern segment that matches any one segment. */
  static final String ANY = "{}";

  private final List<Route> routes;
  private final HostMetrics metrics;

  HostRouter(List<Route> routes, HostMetrics metrics) {
    this.routes = List.copyOf(routes);
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /** Answers {@code call} by the first matching route; never throws. */
  HttpAnswer handle(HttpCall call) {
    long start = System.nanoTime();
    String name = "unknown";
    HttpAnswer answer;
    try {
      String[] seg = segments(call.path());
      Route route = null;
      List<String> vars = null;
      for (Route r : routes) {
        vars = r.match(seg);
        if (vars != null) {
          route = r;
          break;
        }
      }
      if (route == null) {
        answer =
            HttpAnswer.error(ErrorCode.NOT_FOUND, "no such path: " + Inputs.quote(call.path()));
      } else {
        name = route.name();
        answer = run(call, route, vars);
      }
    } catch (RuntimeException e) {
      answer = internal(e);
    }
    record(name, answer, start);
    return answer;
  }

  private static HttpAnswer run(HttpCall call, Route route, List<String> vars) {
    if (!route.method().equals(ANY_METHOD) && !call.method().equals(route.method())) {
      return HttpAnswer.error(ErrorCode.METHOD_NOT_ALLOWED, "use " + route.method());
    }
    try {
      return route.handler().handle(call, vars);
    } catch (ApiException e) {
      return e.answer();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return HttpAnswer.error(ErrorCode.OVERLOADED, "the host is shutting down");
    }
  }

  private void record(String route, HttpAnswer answer, long startNanos) {
    metrics.inc(
        "keycast_host_requests_total",
        "HTTP requests by route and status",
        "route",
        route,
        "status",
        Integer.toString(answer.status()));
    metrics.observe(
        "keycast_host_request_seconds",
        "HTTP request latency by route",
        HostMetrics.LATENCY_BUCKETS,
        (System.nanoTime() - startNanos) / 1e9,
        "route",
        route);
  }

  private static HttpAnswer internal(RuntimeException e) {
    String id = UUID.randomUUID().toString();
    LOG.error("internal error {}", id, e);
    return HttpAnswer.error(ErrorCode.INTERNAL, "internal error; correlation id " + id);
  }

  private static String[] segments(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    if (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    return p.isEmpty() ? new String[0] : p.split("/", -1);
  }
}
