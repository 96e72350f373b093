package dev.keycast.e2e;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** One payload posted through both hosts at the same moment. */
final class Races {
  private Races() {}

  /** The answers of host 1 and host 2 to the same payload, released together. */
  static List<RawSend.Answer> both(TwoParentStack s, RawSend.Payload p) throws Exception {
    CountDownLatch go = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      Future<RawSend.Answer> a =
          pool.submit(
              () -> {
                go.await();
                return RawSend.post(s.host(1), p);
              });
      Future<RawSend.Answer> b =
          pool.submit(
              () -> {
                go.await();
                return RawSend.post(s.host(2), p);
              });
      go.countDown();
      return List.of(a.get(), b.get());
    }
  }
}
