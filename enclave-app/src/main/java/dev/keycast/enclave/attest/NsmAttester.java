package dev.keycast.enclave.attest;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.protocol.attestation.AttesterException;
import java.util.Objects;

/** The real {@link Attester}: asks the Nitro Secure Module through an {@link NsmClient}. */
public final class NsmAttester implements Attester {
  private final NsmClient client;
  private final String moduleId;

  private NsmAttester(NsmClient client, String moduleId) {
    this.client = client;
    this.moduleId = moduleId;
  }

  /**
   * Creates the attester and checks the module answers (DescribeNSM), so a missing or broken NSM
   * fails at start rather than on the first request.
   */
  public static NsmAttester create(NsmClient client) throws AttesterException {
    Objects.requireNonNull(client, "client");
    try {
      return new NsmAttester(client, client.describeNsm().moduleId());
    } catch (NsmDeviceException | NsmException | MalformedInputException e) {
      throw new AttesterException("the NSM did not answer DescribeNSM", e);
    }
  }

  @Override
  public byte[] attest(byte[] userData, byte[] nonce, byte[] publicKey) throws AttesterException {
    try {
      return client.attestation(userData, nonce, publicKey);
    } catch (NsmDeviceException | NsmException | MalformedInputException e) {
      throw new AttesterException("the NSM did not produce an attestation document", e);
    }
  }

  @Override
  public boolean isMock() {
    return false;
  }

  @Override
  public String describe() {
    return "Nitro Secure Module " + moduleId;
  }

  @Override
  public String toString() {
    return "NsmAttester[" + moduleId + "]";
  }
}
