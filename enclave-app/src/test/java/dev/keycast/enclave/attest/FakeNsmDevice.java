package dev.keycast.enclave.attest;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** An {@link NsmDevice} that records requests and answers from a queue of canned responses. */
final class FakeNsmDevice implements NsmDevice {
  private final Deque<byte[]> responses = new ArrayDeque<>();
  final List<byte[]> requests = new ArrayList<>();
  NsmDeviceException failWith;

  FakeNsmDevice answer(byte[]... rs) {
    for (byte[] r : rs) {
      responses.add(r);
    }
    return this;
  }

  @Override
  public synchronized byte[] call(byte[] cborRequest) throws NsmDeviceException {
    requests.add(cborRequest.clone());
    if (failWith != null) {
      throw failWith;
    }
    byte[] r = responses.poll();
    if (r == null) {
      throw new AssertionError("unexpected NSM call");
    }
    return r;
  }
}
