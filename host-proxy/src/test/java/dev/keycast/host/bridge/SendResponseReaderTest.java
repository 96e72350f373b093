package dev.keycast.host.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Two-pass reading of a send answer. */
class SendResponseReaderTest {
  @Test
  void readsHeaderAndStreamsDeliveriesWhateverTheMemberOrder() throws Exception {
    List<EnclaveApi.Delivery> ds = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      ds.add(new EnclaveApi.Delivery("d" + i, "f".repeat(64), "hpke-x25519-v1", "ZW52" + i));
    }
    EnclaveApi.SendResponse r =
        new EnclaveApi.SendResponse(
            "s1",
            "secret",
            "s1",
            "cmVj",
            "c2Vh",
            ds,
            List.of(new EnclaveApi.Skipped("a".repeat(64), "not_selected", "no")));
    byte[] json = Json.encode(r);
    SendResponseReader.Header h = SendResponseReader.header(json);
    assertThat(h)
        .isEqualTo(
            new SendResponseReader.Header("s1", "secret", "s1", "cmVj", "c2Vh", r.skipped(), 1000));
    List<EnclaveApi.Delivery> read = new ArrayList<>();
    SendResponseReader.deliveries(json).forEach(read::add);
    assertThat(read).isEqualTo(ds);

    // the enclave streams deliveries before the receipt: order does not matter
    String reordered =
        "{\"deliveries\":[{\"delivery_id\":\"x\",\"recipient\":\""
            + "b".repeat(64)
            + "\",\"format\":\"cms-aes256gcm-v1\",\"envelope\":\"AA\"}],\"skipped\":[],"
            + "\"receipt\":\"cmVj\",\"send_id\":\"s2\",\"secret_id\":\"k\",\"receipt_id\":\"s2\","
            + "\"sealed_secret\":\"c2Vh\"}";
    byte[] b = reordered.getBytes(StandardCharsets.UTF_8);
    assertThat(SendResponseReader.header(b).deliveryCount()).isEqualTo(1);
    assertThat(SendResponseReader.header(b).receipt()).isEqualTo("cmVj");
    assertThat(SendResponseReader.deliveries(b))
        .extracting(EnclaveApi.Delivery::deliveryId)
        .containsExactly("x");
  }

  @Test
  void refusesWhatIsNotASendAnswer() {
    assertThatThrownBy(() -> SendResponseReader.header("[]".getBytes()))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> SendResponseReader.header("{\"evil\":1}".getBytes()))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("evil");
    assertThatThrownBy(() -> SendResponseReader.header("{\"send_id\":".getBytes()))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> SendResponseReader.header("{\"deliveries\":3}".getBytes()))
        .isInstanceOf(MalformedInputException.class);
  }
}
