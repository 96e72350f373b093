package dev.keycast.enclave.net;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * Run by {@link LoopbackInterfaceNamespaceTest} in a child JVM inside a new network namespace:
 * tries a TCP exchange on 127.0.0.1, calls {@link LoopbackInterface#bringUp()} twice, tries the
 * exchange again, and prints one {@code key=value} line per step for the test to check.
 */
public final class LoopbackChild {
  private LoopbackChild() {}

  public static void main(String[] args) {
    System.out.println("before=" + exchange());
    for (String step : new String[] {"first", "second"}) {
      try {
        LoopbackInterface.Outcome o = LoopbackInterface.bringUp();
        System.out.println(
            step
                + "=up:"
                + o.linkBroughtUp()
                + ",assigned:"
                + o.addressAssigned()
                + ",address:"
                + o.address().getHostAddress()
                + ",describe:"
                + o.describe());
      } catch (LoopbackException e) {
        System.out.println(
            step
                + "=error:errno:"
                + e.errno()
                + ",operation:"
                + e.operation()
                + ",message:"
                + e.getMessage());
      }
    }
    System.out.println("after=" + exchange());
  }

  /** "OK" if a client and a server on 127.0.0.1 exchanged 5 bytes each way, else "FAIL:<why>". */
  static String exchange() {
    try (ServerSocket server = new ServerSocket()) {
      server.bind(new InetSocketAddress("127.0.0.1", 0));
      server.setSoTimeout(5000);
      try (Socket client = new Socket()) {
        client.connect(server.getLocalSocketAddress(), 5000);
        client.setSoTimeout(5000);
        try (Socket peer = server.accept()) {
          peer.setSoTimeout(5000);
          OutputStream out = client.getOutputStream();
          out.write("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          out.flush();
          InputStream in = peer.getInputStream();
          String got = new String(in.readNBytes(5), java.nio.charset.StandardCharsets.US_ASCII);
          peer.getOutputStream()
              .write("world".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          String back =
              new String(
                  client.getInputStream().readNBytes(5),
                  java.nio.charset.StandardCharsets.US_ASCII);
          return got.equals("hello") && back.equals("world")
              ? "OK"
              : "FAIL:got " + got + "/" + back;
        }
      }
    } catch (Exception e) {
      return "FAIL:" + e;
    }
  }
}
