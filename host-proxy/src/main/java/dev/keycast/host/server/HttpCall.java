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
 */
public record HttpCall(String method, String path, Map<String, List<String>> query, byte[] body,
    String authorization) {
  /** A call without an {@code Authorization} header. */
  public HttpCall(String method, String path, Map<String, List<String>> query, byte[] body) {
    this(method, path, query, body, null);
  }

  /** The first value of query parameter {@code name}, or null. */
  public String param(String name) {
    List<String> v = query.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }
}
