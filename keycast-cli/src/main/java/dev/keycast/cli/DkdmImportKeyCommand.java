package dev.keycast.cli;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcPem;
import dev.keycast.protocol.cinema.LegacyDkdmKeys;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.send.SealedSendPayload;
import dev.keycast.protocol.send.SendPayloadParameters;
import dev.keycast.protocol.send.SendPayloadSealer;
import dev.keycast.protocol.sender.DkdmKeyImportStatement;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keycast dkdm import-key} (issue 25's adoption path, wire-format.md section 10.6): a
 * distributor's existing DKDM certificate and private key (DCP-o-matic's or easyDCP's) imported
 * once into the attested enclave: the key is HPKE-sealed to the attested receive key on this
 * machine (the host never sees it), the enclave checks it is the certificate's and seals it under
 * the key set's storage key; the host keeps only that sealed form. DKDMs addressed to the old
 * certificate then ingest with {@code keycast dkdm ingest}.
 */
@Command(
    name = "import-key",
    mixinStandardHelpOptions = true,
    versionProvider = KeycastCli.Version.class,
    sortOptions = false,
    description = {
      "Import your existing DKDM certificate (--certificate) and its RSA private key (--key, PEM: PKCS #8"
          + " or PKCS #1, unencrypted) into the attested enclave, sealed to it on this machine. Afterwards"
          + " DKDMs addressed to that certificate ingest too. The key is never stored or shown in clear.",
      "Exits 0 imported; 2 usage; 3 a file unreadable; 4 refused (dkdm_key_invalid, dkdm_key_mismatch,"
          + " sender_*) or the attestation fails; 5 unreachable."
    },
    footer = ExitCodes.HELP)
final class DkdmImportKeyCommand extends KeycastCommand {
  @Mixin HostOptions hostOptions;
  @Mixin AttestationOptions attestationOptions;

  @Option(
      names = "--certificate",
      required = true,
      paramLabel = "FILE",
      description = "The DKDM certificate your DKDMs are addressed to (PEM or DER).")
  Path certificate;

  @Option(
      names = "--key",
      required = true,
      paramLabel = "FILE",
      description = "Its RSA private key (PEM, unencrypted; e.g. DCP-o-matic's decryption key).")
  Path key;

  @Option(
      names = "--sender-key",
      required = true,
      paramLabel = "FILE",
      description = "Your PEM Ed25519 sender key (a sender of the key set's sender set).")
  Path senderKey;

  @Override
  int run() throws CliException, HostException {
    byte[] certBytes = CliFiles.read(certificate, "--certificate", 64 * 1024);
    byte[] der = der(certBytes);
    X509Certificate cert;
    try {
      cert = LegacyDkdmKeys.certificate(der);
    } catch (CinemaException e) {
      throw CliException.usage("--certificate " + certificate + ": " + e.getMessage());
    }
    byte[] pkcs8 = pkcs8(CliFiles.read(key, "--key", 64 * 1024), "--key " + key);
    try {
      LegacyDkdmKeys.privateKey(pkcs8, cert); // refused here, before anything leaves this machine
    } catch (CinemaException e) {
      Arrays.fill(pkcs8, (byte) 0);
      throw CliException.usage("--key " + key + ": " + e.getMessage());
    }
    EnclaveApi.DkdmKeyImportResponse a;
    EnclaveIdentity id;
    try (SenderSigningKey sender = SenderSets.readPrivate(senderKey, "--sender-key")) {
      HostClient host = hostOptions.client();
      id = EnclaveIdentity.verifyEnclave(host, attestationOptions.pins(), new SecureRandom());
      SealedSendPayload sealed =
          SendPayloadSealer.create(
                  SendPayloadParameters.keyImportV1(id.bundle().keySetId()),
                  id.bundle().receivePublicKey())
              .seal(LegacyDkdmKeys.aad(der), pkcs8, new SecureRandom());
      Instant ts = Instant.ofEpochSecond(Instant.now().getEpochSecond());
      byte[] sig =
          new DkdmKeyImportStatement(
                  id.bundle().keySetId(),
                  Sha256.digest(der),
                  Sha256.digest(sealed.enc(), sealed.ciphertext()),
                  ts,
                  sender.publicKey())
              .sign(sender);
      a =
          host.postSigned(
              "/v1/dkdm-keys",
              new EnclaveApi.DkdmKeyImportRequest(
                  Base64Url.encode(der),
                  Base64Url.encode(sealed.enc()),
                  Base64Url.encode(sealed.ciphertext()),
                  new EnclaveApi.SenderSignature(
                      Base64Url.encode(sender.publicKey().raw()),
                      ts.getEpochSecond(),
                      Base64Url.encode(sig))),
              sender,
              HostClient.MAX_SMALL_BYTES,
              EnclaveApi.DkdmKeyImportResponse.class);
    } catch (MalformedInputException e) {
      throw CliException.verification("the attested receive key is unusable: " + e.getMessage());
    } finally {
      Arrays.fill(pkcs8, (byte) 0);
    }
    if (json) {
      printJson(a);
      return ExitCodes.OK;
    }
    var o = out();
    o.println(
        "imported:   "
            + a.subject()
            + " (serial "
            + a.serialNumber()
            + ", thumbprint "
            + a.thumbprint()
            + ")");
    o.println(
        "enclave:    key set "
            + a.keySetId()
            + ", attestation verified; the key was sealed to it here");
    o.println(
        "kept:       sealed by the enclave, stored by the host; DKDMs addressed to this certificate now ingest");
    return ExitCodes.OK;
  }

  private byte[] der(byte[] bytes) throws CliException {
    try {
      List<byte[]> pem = DcPem.parseCertificates(bytes);
      if (pem.size() != 1) {
        throw CliException.usage(
            "--certificate " + certificate + ": one certificate expected, found " + pem.size());
      }
      return pem.getFirst();
    } catch (MalformedInputException e) {
      return bytes; // DER; LegacyDkdmKeys.certificate says whether it is one
    }
  }

  /** The PKCS #8 DER of an unencrypted PEM private key (PKCS #8 or PKCS #1); {@code pem} is wiped. */
  static byte[] pkcs8(byte[] pem, String what) throws CliException {
    try (PEMParser p =
        new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      Object o = p.readObject();
      if (o instanceof PEMKeyPair kp) {
        return kp.getPrivateKeyInfo().getEncoded();
      }
      if (o instanceof PrivateKeyInfo info) {
        return info.getEncoded();
      }
      throw CliException.usage(
          what
              + ": not an unencrypted PEM private key (BEGIN PRIVATE KEY or"
              + " BEGIN RSA PRIVATE KEY)");
    } catch (IOException e) {
      throw CliException.usage(what + ": not a PEM private key");
    } finally {
      Arrays.fill(pem, (byte) 0);
    }
  }
}
