// Creates a symmetric KMS key with a key policy through the AWS SDK's KmsClient and prints its ARN.
// Used by scripts/run-local against the local MOCK KMS on first run; it works against AWS KMS too.
// Run with the JDK 25 source launcher and the enclave jar (it carries the AWS SDK):
//   java -cp enclave-app/target/keycast-enclave.jar scripts/lib/KmsCreateKey.java \
//     --endpoint https://127.0.0.1:4566 --ca-cert STATE/kms/tls/cert.pem --region us-east-1 \
//     --policy policy.json [--description TEXT] [--bypass-policy-lockout-safety-check true]
// A locked policy (scripts/kms-key-policy's default) needs --bypass-policy-lockout-safety-check true:
// it lets nobody, the creator included, call PutKeyPolicy again, which KMS refuses unless told.
// Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).

import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.TrustManagerFactory;
import software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.CreateKeyResponse;

/** One-shot CreateKey: the simplest real path to a KMS key with a PCR-conditioned key policy. */
public final class KmsCreateKey {
  public static void main(String[] args) throws Exception {
    // The enclave jar's logback configuration would print the AWS SDK's DEBUG lines: keep quiet.
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    Map<String, String> opt = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        System.err.println("KmsCreateKey: usage: --endpoint URL --ca-cert PEM --region R --policy FILE [--description TEXT]"
            + " [--bypass-policy-lockout-safety-check true]");
        System.exit(2);
      }
      opt.put(args[i].substring(2), args[++i]);
    }
    for (String required : new String[] {"endpoint", "region", "policy"}) {
      if (!opt.containsKey(required)) {
        System.err.println("KmsCreateKey: --" + required + " is required");
        System.exit(2);
      }
    }
    ApacheHttpClient.Builder http = ApacheHttpClient.builder();
    if (opt.containsKey("ca-cert")) {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      try (InputStream in = Files.newInputStream(Path.of(opt.get("ca-cert")))) {
        int n = 0;
        for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          trust.setCertificateEntry("ca" + n++, c);
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      http.tlsTrustManagersProvider(tmf::getTrustManagers);
    }
    String bypass = opt.getOrDefault("bypass-policy-lockout-safety-check", "false");
    if (!bypass.equals("true") && !bypass.equals("false")) {
      System.err.println("KmsCreateKey: --bypass-policy-lockout-safety-check takes true or false");
      System.exit(2);
    }
    String policy = Files.readString(Path.of(opt.get("policy")), StandardCharsets.UTF_8);
    try (KmsClient kms = KmsClient.builder()
        .endpointOverride(URI.create(opt.get("endpoint")))
        .region(Region.of(opt.get("region")))
        .credentialsProvider(EnvironmentVariableCredentialsProvider.create())
        .httpClient(http.build())
        .build()) {
      CreateKeyResponse r = kms.createKey(b -> b.policy(policy)
          .bypassPolicyLockoutSafetyCheck(Boolean.parseBoolean(bypass))
          .description(opt.getOrDefault("description", "keycast key set sealing key")));
      System.out.println(r.keyMetadata().arn());
    }
  }
}
