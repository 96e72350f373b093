package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;

/**
 * The commit protocol's memory of manifests, without S3: the client points at a port nobody
 * listens on, so any check the memory does not answer fails with {@code store_unavailable}.
 */
class S3CommitProtocolTest {
  private static S3Objects deadObjects() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: connections are refused
    }
    return new S3Objects(
        S3Objects.client(
            URI.create("http://127.0.0.1:" + port),
            Region.US_EAST_1,
            StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")),
            1),
        true,
        "bucket",
        "p/",
        1);
  }

  /** A parent that only commits remembers every manifest it writes: the memory must stay bounded. */
  @Test
  void rememberingEveryCommitStaysWithinTheBound() throws Exception {
    try (S3Objects objects = deadObjects()) {
      S3CommitProtocol commits = new S3CommitProtocol(objects, new S3RecordCodec(), 100);
      for (int i = 0; i < 1000; i++) {
        commits.remember(S3Layout.manifest(hex(i)), "sendId", "s" + i);
      }
      assertThat(commits.cached()).isEqualTo(100);
      // the newest are kept and answered from memory (no request: S3 is unreachable)
      assertThat(commits.isCommitted(S3Layout.manifest(hex(999)), "sendId", "s999")).isTrue();
      // the oldest were dropped: the check goes to S3, which is unreachable here
      assertThatThrownBy(() -> commits.isCommitted(S3Layout.manifest(hex(0)), "sendId", "s0"))
          .isInstanceOfSatisfying(
              StoreException.class,
              e -> assertThat(e.code()).isEqualTo(StoreException.Code.STORE_UNAVAILABLE));
    }
  }

  /** Least recently used goes first: an entry checked often survives a stream of new commits. */
  @Test
  void aManifestCheckedOftenIsKept() throws Exception {
    try (S3Objects objects = deadObjects()) {
      S3CommitProtocol commits = new S3CommitProtocol(objects, new S3RecordCodec(), 10);
      commits.remember(S3Layout.manifest(hex(-1)), "sendId", "hot");
      for (int i = 0; i < 100; i++) {
        commits.remember(S3Layout.manifest(hex(i)), "sendId", "s" + i);
        assertThat(commits.isCommitted(S3Layout.manifest(hex(-1)), "sendId", "hot")).isTrue();
      }
      assertThat(commits.cached()).isEqualTo(10);
    }
  }

  private static String hex(int i) {
    return String.format("%064x", i & 0xffffffffL);
  }
}
