package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import dev.keycast.protocol.policy.SendPolicy;
import java.util.Arrays;
import java.util.List;

/**
 * Coverage-guided fuzz targets for the JSON codec of every API (requests the host sends the
 * enclave, answers the CLI reads from the host) and for send policies, which travel inside the
 * sender's HPKE associated data.
 *
 * <p>Contract: {@link Json#decode} throws only {@link MalformedInputException} with a stable code
 * ({@code malformed_request}, {@code oversize}) and {@link SendPolicy#parse} only {@code
 * invalid_policy}, {@code unsupported_version} or {@code oversize}; allocation stays linear in the
 * input; whatever decodes encodes back to JSON that decodes to an equal value.
 */
class JsonCodecFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 512;

  /** The first input byte picks the type the rest is decoded as. */
  static final List<Class<?>> TYPES =
      List.of(
          EnclaveApi.SendRequest.class,
          EnclaveApi.ForwardRequest.class,
          EnclaveApi.ValidateRequest.class,
          EnclaveApi.InitRequest.class,
          EnclaveApi.UnsealRequest.class,
          EnclaveApi.CredentialsRequest.class,
          EnclaveApi.SendResponse.class,
          EnclaveApi.AttestationResponse.class,
          EnclaveApi.KeySetResponse.class,
          HostApi.RegisterRecipient.class,
          HostApi.SendResult.class,
          HostApi.DeliveryPage.class,
          HostApi.ReceiptView.class,
          HostApi.Status.class,
          ErrorBody.class);

  @FuzzTest
  void apiTypes(byte[] input) {
    if (input.length == 0) {
      return;
    }
    Class<?> type = TYPES.get((input[0] & 0xff) % TYPES.size());
    byte[] json = Arrays.copyOfRange(input, 1, input.length);
    Outcome<?> decoded =
        FuzzContract.typedOnly(
            json,
            ALLOCATION_PER_BYTE,
            () -> Json.decode(json, HostApi.MAX_REQUEST_BYTES, type),
            MalformedInputException.class);
    if (decoded.ok()) {
      byte[] again = Json.encode(decoded.value());
      Outcome<?> redecoded =
          FuzzContract.typedOnly(
              again,
              ALLOCATION_PER_BYTE,
              () -> Json.decode(again, HostApi.MAX_REQUEST_BYTES, type),
              MalformedInputException.class);
      assertThat(redecoded.ok())
          .as("encoded %s decodes: %s", type.getSimpleName(), redecoded.error())
          .isTrue();
      assertThat(redecoded.value()).isEqualTo(decoded.value());
    } else {
      assertThat(((MalformedInputException) decoded.error()).code())
          .isIn("malformed_request", "oversize");
    }
  }

  @FuzzTest
  void sendPolicy(byte[] input) {
    Outcome<SendPolicy> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> SendPolicy.parse(input),
            MalformedInputException.class);
    if (parsed.ok()) {
      byte[] written = parsed.value().toJson();
      Outcome<SendPolicy> again =
          FuzzContract.typedOnly(
              written,
              ALLOCATION_PER_BYTE,
              () -> SendPolicy.parse(written),
              MalformedInputException.class);
      assertThat(again.ok()).as("toJson() output parses: %s", again.error()).isTrue();
      assertThat(again.value()).isEqualTo(parsed.value());
    } else {
      assertThat(((MalformedInputException) parsed.error()).code())
          .isIn("invalid_policy", "unsupported_version", "oversize");
    }
  }
}
