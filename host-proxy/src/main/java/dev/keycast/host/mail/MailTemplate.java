package dev.keycast.host.mail;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text of a KDM mail (operations.md): a first line {@code Subject: ...}, an empty line, and
 * the body; {@code {{name}}} placeholders are filled ({@link #PLACEHOLDERS}), an unknown one is
 * refused when the template is read. Values are inserted as they are (plain text, no escaping);
 * a subject's value has its line breaks turned into spaces.
 *
 * @param subject the subject line's template
 * @param body the body's template
 */
public record MailTemplate(String subject, String body) {
  /** Largest template file. */
  public static final int MAX_BYTES = 64 * 1024;

  /** The placeholders a template may use. */
  public static final java.util.List<String> PLACEHOLDERS =
      java.util.List.of(
          "title",
          "cinema",
          "screens",
          "not_before",
          "not_after",
          "utc_offset",
          "cpl_id",
          "send_id",
          "kdm_count",
          "zip_name",
          "sender_from");

  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([a-z_]+)}}");

  /** The built-in template. */
  public static final MailTemplate DEFAULT =
      parse(
          """
      Subject: KDMs: {{title}} for {{cinema}}

      Hello {{cinema}},

      Attached are {{kdm_count}} KDM(s) for {{title}} in {{zip_name}}.

      Screens: {{screens}}
      Valid from: {{not_before}}
      Valid until: {{not_after}}
      (times are the cinema's local time, UTC{{utc_offset}})

      Composition playlist: {{cpl_id}}

      This message was sent by Keycast on behalf of the distributor ({{sender_from}}).
      Reference: {{send_id}}
      """);

  public MailTemplate {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(body, "body");
    check(subject);
    check(body);
  }

  /** A template of a file's text; {@link IllegalArgumentException} naming what is wrong. */
  public static MailTemplate parse(String text) {
    if (text.length() > MAX_BYTES) {
      throw new IllegalArgumentException("a mail template is at most " + MAX_BYTES + " bytes");
    }
    String t = text.replace("\r\n", "\n");
    int nl = t.indexOf('\n');
    String first = nl < 0 ? t : t.substring(0, nl);
    if (!first.startsWith("Subject:")) {
      throw new IllegalArgumentException("a mail template's first line is \"Subject: ...\"");
    }
    String rest = nl < 0 ? "" : t.substring(nl + 1);
    if (rest.startsWith("\n")) {
      rest = rest.substring(1);
    }
    return new MailTemplate(first.substring("Subject:".length()).strip(), rest);
  }

  /** A template file's template. */
  public static MailTemplate read(java.nio.file.Path file) throws java.io.IOException {
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
      byte[] b = in.readNBytes(MAX_BYTES + 1);
      if (b.length > MAX_BYTES) {
        throw new IllegalArgumentException(
            "--mail-template " + file + " is larger than " + MAX_BYTES + " bytes");
      }
      return parse(new String(b, StandardCharsets.UTF_8));
    }
  }

  /** The subject with {@code values} filled in (one line). */
  public String subject(Map<String, String> values) {
    return fill(subject, values).replaceAll("[\\r\\n\\t]+", " ").strip();
  }

  /** The body with {@code values} filled in. */
  public String body(Map<String, String> values) {
    return fill(body, values);
  }

  private static String fill(String template, Map<String, String> values) {
    Matcher m = PLACEHOLDER.matcher(template);
    StringBuilder out = new StringBuilder(template.length() + 256);
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(values.getOrDefault(m.group(1), "")));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static void check(String template) {
    Matcher m = PLACEHOLDER.matcher(template);
    while (m.find()) {
      if (!PLACEHOLDERS.contains(m.group(1))) {
        throw new IllegalArgumentException(
            "unknown placeholder {{"
                + m.group(1)
                + "}} in the mail template (known: "
                + String.join(", ", PLACEHOLDERS)
                + ")");
      }
    }
  }
}
