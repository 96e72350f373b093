package dev.keycast.enclave.kms;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.apache.http.HttpHost;
import org.apache.http.conn.ssl.DefaultHostnameVerifier;
import org.apache.http.conn.ssl.SSLConnectionSocketFactory;
import org.apache.http.protocol.HttpContext;

/**
 * The HTTPS socket factory of the enclave's KMS client (HttpClient 4.5, registered through {@code
 * ApacheHttpClient.Builder.socketFactory}): the plain socket connects to the local forwarder (an
 * {@code L4Pipe} from {@code 127.0.0.1} to the host's KMS egress endpoint), never to the address
 * the KMS host name would resolve to; TLS is then layered on that socket with the real KMS host
 * name for SNI and hostname verification, so TLS terminates here, inside the enclave.
 *
 * <p>Only {@code kmsHost} is served: a request for any other host fails before a byte is sent.
 */
final class KmsTlsSocketFactory extends SSLConnectionSocketFactory {
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private final String kmsHost;
  private final Supplier<InetSocketAddress> forwarder;

  /**
   * @param sslContext trust for the KMS server certificate (JDK default trust store in
   *     production, exactly the mock's certificate in mock mode)
   * @param kmsHost {@code kms.<region>.amazonaws.com}
   * @param forwarder the loopback address of the forwarder, resolved at each connect
   */
  KmsTlsSocketFactory(
      SSLContext sslContext, String kmsHost, Supplier<InetSocketAddress> forwarder) {
    super(sslContext, PROTOCOLS, null, new DefaultHostnameVerifier());
    this.kmsHost = kmsHost;
    this.forwarder = forwarder;
  }

  @Override
  public Socket connectSocket(
      int connectTimeout,
      Socket socket,
      HttpHost host,
      InetSocketAddress remoteAddress,
      InetSocketAddress localAddress,
      HttpContext context)
      throws IOException {
    if (!kmsHost.equalsIgnoreCase(host.getHostName())) {
      throw new IOException(
          "the enclave's KMS client connects only to "
              + kmsHost
              + ", not to "
              + host.getHostName());
    }
    // super connects the plain socket to the forwarder, then createLayeredSocket(sock,
    // host.getHostName(), ...) does the handshake with SNI and verifies the KMS host name.
    return super.connectSocket(
        connectTimeout, socket, host, forwarder.get(), localAddress, context);
  }

  @Override
  protected void prepareSocket(SSLSocket socket) throws IOException {
    SSLParameters p = socket.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName(kmsHost)));
    // The JDK checks the name as well (RFC 2818), in addition to DefaultHostnameVerifier.
    p.setEndpointIdentificationAlgorithm("HTTPS");
    socket.setSSLParameters(p);
  }
}
