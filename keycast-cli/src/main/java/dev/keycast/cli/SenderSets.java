package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderKeyFiles;
import dev.keycast.protocol.sender.SenderSet;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/** The sender set as the host relays it, checked against the attested bundle (issue 23). */
final class SenderSets {
  private SenderSets() {}

  /**
   * The set in force: the host's copy, rebuilt and accepted only when its version and SHA-256 are
   * the ones the attested bundle (version 4) carries.
   */
  static SenderSet verified(HostClient host, KeyBundle attested)
      throws CliException, HostException {
    KeyBundle.SenderSetRef ref =
        attested
            .senderSet()
            .orElseThrow(
                () ->
                    CliException.verification(
                        "the enclave attests no sender set: its owner has not established one, so it refuses every send"));
    EnclaveApi.SenderSetView v = host.senders();
    SenderSet set;
    try {
      set =
          new SenderSet(
              v.version(), keys("owner_keys", v.ownerKeys()), keys("sender_keys", v.senderKeys()));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw CliException.verification("the host's sender set is malformed: " + e.getMessage());
    }
    if (set.version() != ref.version() || !MessageDigest.isEqual(set.digest(), ref.sha256())) {
      throw CliException.verification(
          "the host's sender set (version "
              + set.version()
              + ") is not the one the enclave attests (version "
              + ref.version()
              + "): do not trust it");
    }
    return set;
  }

  private static List<SenderKey> keys(String field, List<String> b64) {
    List<SenderKey> out = new ArrayList<>();
    for (String k : b64) {
      try {
        out.add(SenderKey.of(field, Base64Url.decode(field, k, SenderKey.LENGTH)));
      } catch (MalformedInputException e) {
        throw new IllegalArgumentException(e.getMessage());
      }
    }
    return out;
  }

  static SenderSigningKey readPrivate(Path file, String option) throws CliException {
    try {
      return SenderKeyFiles.readPrivate(file);
    } catch (IOException e) {
      throw CliException.io(option + ": cannot read " + file + ": " + e.getMessage());
    } catch (MalformedInputException e) {
      throw CliException.usage(
          option + ": " + file + " is not a PEM Ed25519 private key (keycast sender keygen)");
    }
  }

  static SenderKey readPublic(Path file, String option) throws CliException {
    try {
      return SenderKeyFiles.readPublic(file);
    } catch (IOException e) {
      throw CliException.io(option + ": cannot read " + file + ": " + e.getMessage());
    } catch (MalformedInputException e) {
      throw CliException.usage(
          option + ": " + file + " is not a PEM Ed25519 public key (keycast sender keygen)");
    }
  }

  /** A sender given as a PEM file or as a 64-hex fingerprint that {@code set} knows. */
  static SenderKey parseSender(String value, SenderSet set, String option) throws CliException {
    if (value.matches("[0-9a-f]{64}")) {
      for (SenderKey k : set.senders()) {
        if (k.fingerprint().equals(value)) {
          return k;
        }
      }
      throw CliException.usage(
          option + ": no sender " + value + " in sender set version " + set.version());
    }
    return readPublic(Path.of(value), option);
  }
}
