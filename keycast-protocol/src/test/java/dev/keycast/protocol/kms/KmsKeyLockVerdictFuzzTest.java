package dev.keycast.protocol.kms;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Coverage-guided fuzz target for {@link KmsKeyLockVerdict}: the enclave's reading of its own KMS
 * key policy, whose text the operator's account wrote (seeds: the locked and the legacy policy of
 * {@code scripts/kms-key-policy}).
 *
 * <p>Contract: nothing escapes (the verdict fails closed with reasons, it never throws); and a
 * <em>locked</em> verdict is re-checked by an independent, simpler reading of the same JSON: every
 * Allow statement whose actions could cover a sensitive action allows, of the sensitive actions, only
 * {@code kms:Decrypt} / {@code kms:GenerateDataKey} (wildcards expanded), names only IAM role or user ARNs, and is conditioned on the
 * Recipient attestation's image; no statement uses {@code NotAction} or {@code NotPrincipal}; the
 * admitted images are SHA-384 hex. A fuzzer-found policy that the verdict calls locked and this
 * reading does not is a fail-open bug.
 */
class KmsKeyLockVerdictFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 4096;
  private static final KmsKeyLockVerdict.KeyFacts PLAIN_KEY =
      new KmsKeyLockVerdict.KeyFacts("AWS_KMS", "CUSTOMER", false);
  private static final Pattern IAM_ROLE_OR_USER =
      Pattern.compile("arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+");
  private static final Pattern SHA384_HEX = Pattern.compile("[0-9a-f]{96}");

  @FuzzTest
  void evaluate(byte[] input) {
    String policy = new String(input, StandardCharsets.UTF_8);
    Outcome<KmsKeyLockVerdict> v =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> KmsKeyLockVerdict.evaluate(policy, List.of(), PLAIN_KEY));
    assertThat(v.ok()).as("the verdict never throws: %s", v.error()).isTrue();
    KmsKeyLockVerdict verdict = v.value();
    if (!verdict.locked()) {
      assertThat(verdict.reasons()).isNotEmpty();
      return;
    }
    assertThat(verdict.reasons()).isEmpty();
    assertThat(verdict.admittedImages())
        .isNotEmpty()
        .allMatch(i -> SHA384_HEX.matcher(i).matches());
    assertLockedByAnIndependentReading(policy);
  }

  private static void assertLockedByAnIndependentReading(String policy) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(policy);
    } catch (Exception e) {
      throw new AssertionError("a policy judged locked is not even JSON to Jackson", e);
    }
    JsonNode statements = root.path("Statement");
    List<JsonNode> list = new ArrayList<>();
    if (statements.isArray()) {
      statements.forEach(list::add);
    } else {
      list.add(statements);
    }
    boolean anyAttestedAllow = false;
    for (JsonNode s : list) {
      assertThat(s.has("NotAction") || s.has("NotPrincipal") || s.has("NotResource"))
          .as("a locked policy has no Not* element: %s", s)
          .isFalse();
      if (!"Allow".equals(s.path("Effect").asText())) {
        continue;
      }
      List<String> actions = strings(s.path("Action"));
      boolean sensitive =
          actions.stream()
              .anyMatch(
                  a ->
                      KmsKeyLockVerdict.SENSITIVE_ACTIONS.stream()
                          .anyMatch(x -> globMatches(a, x)));
      if (!sensitive) {
        continue;
      }
      anyAttestedAllow = true;
      for (String a : actions) {
        assertThat(KmsKeyLockVerdict.SENSITIVE_ACTIONS.stream().filter(x -> globMatches(a, x)))
            .as("of the sensitive actions, %s allows only Decrypt/GenerateDataKey: %s", a, s)
            .allMatch(x -> x.equals("kms:Decrypt") || x.equals("kms:GenerateDataKey"));
      }
      JsonNode principal = s.path("Principal");
      assertThat(principal.isObject()).as("principal of %s", s).isTrue();
      assertThat(strings(principal.path("AWS")))
          .as("principals of %s", s)
          .isNotEmpty()
          .allMatch(p -> IAM_ROLE_OR_USER.matcher(p).matches());
      assertThat(principal.size()).as("only AWS principals: %s", s).isEqualTo(1);
      JsonNode condition = s.path("Condition");
      boolean attested = false;
      for (String op : List.of("StringEquals", "StringEqualsIgnoreCase")) {
        JsonNode c = condition.path(op);
        attested |=
            c.has("kms:RecipientAttestation:ImageSha384") || c.has("kms:RecipientAttestation:PCR0");
      }
      assertThat(attested)
          .as("a sensitive Allow is conditioned on the attested image: %s", s)
          .isTrue();
    }
    assertThat(anyAttestedAllow).as("a locked policy admits some attested use").isTrue();
  }

  private static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n.isTextual()) {
      out.add(n.asText());
    } else if (n.isArray()) {
      n.forEach(e -> out.add(e.asText()));
    }
    return out;
  }

  /**
   * IAM action wildcards ({@code *} any run, {@code ?} one character; case-insensitive), decided by
   * dynamic programming over (pattern, value) prefixes: O(length product), independent of the
   * verdict's greedy matcher, and immune to the backtracking a regex would do on many stars.
   */
  private static boolean globMatches(String pattern, String value) {
    String p = pattern.toLowerCase(Locale.ROOT);
    String v = value.toLowerCase(Locale.ROOT);
    boolean[] row = new boolean[v.length() + 1];
    row[0] = true;
    for (int i = 0; i < p.length(); i++) {
      char c = p.charAt(i);
      boolean[] next = new boolean[v.length() + 1];
      if (c == '*') {
        boolean any = false;
        for (int j = 0; j <= v.length(); j++) {
          any |= row[j];
          next[j] = any;
        }
      } else {
        for (int j = 1; j <= v.length(); j++) {
          next[j] = row[j - 1] && (c == '?' || c == v.charAt(j - 1));
        }
      }
      row = next;
    }
    return row[v.length()];
  }
}
