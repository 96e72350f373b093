package dev.keycast.host.mail;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Coverage-guided fuzz target for the KDM mail template, {@link MailTemplate#parse} and its
 * rendering: the operator's {@code --mail-template} file (read as UTF-8, as {@link
 * MailTemplate#read} does), filled with values that come from bookings and DKDMs (titles, cinema
 * and screen names: text a sender or a studio chose).
 *
 * <p>Contract: parsing throws only the documented {@link IllegalArgumentException}, with a message;
 * allocation stays linear in the input; an accepted template is a fixed point of writing it out
 * again ({@code "Subject: " + subject + "\n\n" + body}) and parsing that; rendering it with hostile
 * values (line breaks, {@code $1} and backslashes, which a regex replacement would interpret, and
 * placeholders) never throws, gives a subject that is one line (what {@link OutgoingMail} requires,
 * so no header can be injected through a title), and never expands a placeholder that a value
 * brought in (values are inserted as they are).
 */
class MailTemplateFuzzTest {
  /**
   * Bytes per input byte: generous because, when fuzzing, Jazzer's hooks on {@code String.replace},
   * {@code indexOf} and {@code startsWith} copy their arguments (about 1,400 bytes per input byte for
   * a 43 KB template, fuzzing.md N3); without the hooks (CI) parsing allocates a few copies of the text.
   */
  private static final long ALLOCATION_PER_BYTE = 2048;

  /** A marker the title carries; it may appear only where the template itself has {@code {{title}}}. */
  private static final String MARK = "\u0001title-value\u0001";

  @FuzzTest
  void parseAndRender(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    Outcome<MailTemplate> out =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> MailTemplate.parse(text),
            IllegalArgumentException.class);
    if (!out.ok()) {
      return;
    }
    MailTemplate t = out.value();
    assertThat(t.subject()).doesNotContain("\n");
    String written = "Subject: " + t.subject() + "\n\n" + t.body();
    if (!written.contains("\r") && written.length() <= MailTemplate.MAX_BYTES) {
      assertThat(MailTemplate.parse(written)).isEqualTo(t);
    }
    Map<String, String> values = new HashMap<>();
    for (String p : MailTemplate.PLACEHOLDERS) {
      values.put(p, "a\r\nBcc: x@example.com\n$1\\$0 {{title}} {{" + p + "}}");
    }
    values.put("title", MARK);
    String subject = t.subject(values);
    String body = t.body(values);
    assertThat(subject).doesNotContain("\r").doesNotContain("\n");
    new OutgoingMail(
        "m@keycast",
        java.util.List.of("a@example.com"),
        subject,
        body,
        "k.zip",
        "application/zip",
        new byte[0]);
    if (!t.subject().contains("{{title}}") && !text.contains(MARK)) {
      assertThat(subject).doesNotContain(MARK);
    }
    if (!t.body().contains("{{title}}") && !text.contains(MARK)) {
      assertThat(body).doesNotContain(MARK);
    }
  }
}
