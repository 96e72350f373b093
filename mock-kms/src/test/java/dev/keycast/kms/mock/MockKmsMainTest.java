package dev.keycast.kms.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MockKmsMainTest {
  @Test
  void parsesListenAddresses() {
    assertThat(MockKmsMain.parseListen("tcp://127.0.0.1:4566"))
        .isEqualTo(new InetSocketAddress("127.0.0.1", 4566));
    assertThat(MockKmsMain.parseListen("tcp://127.0.0.1:0").getPort()).isZero();
    assertThatThrownBy(() -> MockKmsMain.parseListen("vsock://3:8000"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MockKmsMain.parseListen("tcp://127.0.0.1"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void readsCredentialsFile(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("creds.json");
    Files.writeString(
        f,
        "[{\"accessKeyId\":\"AKIA1\",\"secretAccessKey\":\"s1\",\"principalArn\":\"arn:aws:iam::111122223333:role/r\"},"
            + "{\"accessKeyId\":\"ASIA2\",\"secretAccessKey\":\"s2\",\"principalArn\":\"arn:aws:iam::111122223333:root\",\"sessionToken\":\"t\"}]");
    var creds = MockKmsMain.readCredentials(f);
    assertThat(creds).hasSize(2);
    assertThat(creds.get(1).sessionToken()).contains("t");
    assertThat(creds.get(1).toString()).doesNotContain("s2").doesNotContain("=t");
  }

  @Test
  void helpMentionsItIsAMock() {
    var out = new java.io.StringWriter();
    var cl = new CommandLine(new MockKmsMain());
    cl.setOut(new java.io.PrintWriter(out));
    assertThat(cl.execute("--help")).isZero();
    assertThat(out.toString()).contains("MOCK").contains("--trust-root").contains("--credentials");
  }
}
