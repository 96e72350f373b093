package dev.keycast.host.server;

import java.util.List;
import java.util.Map;

/**
 * One fully read HTTP request, detached from Netty.
 *
 * @param method upper-case method
 * @param path decoded path without the query
 * @param query query parameters (first value wins)
 * @param body the body (empty when none)
 * @param authorization the {@code Authorization} header, or null
 * @param target the request-target exactly as received (path and query, still percent-encoded):
 *     what a sender signs (api.md section 2.4)
 */
public record HttpCall(
    String method,
    String path,
    Map<String, List<String>> query,
    byte[] body,
    String authorization,
    String target) {
  /** A call without an {@code Authorization} header. */
  public HttpCall(String method, String path, Map<String, List<String>> query, byte[] body) {
    this(method, path, query, body, null, path);
  }

  /** A call whose target is its path. */
  public HttpCall(
      String method,
      String path,
      Map<String, List<String>> query,
      byte[] body,
      String authorization) {
    this(method, path, query, body, authorization, path);
  }

  /** The first value of query parameter {@code name}, or null. */
  public String param(String name) {
    List<String> v = query.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }
}
