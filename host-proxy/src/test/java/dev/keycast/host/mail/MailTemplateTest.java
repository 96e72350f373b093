package dev.keycast.host.mail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The KDM mail template: parsing, placeholders, one-line subjects. */
class MailTemplateTest {
  @Test
  void theDefaultTemplateNamesEveryPartOfTheBooking() {
    Map<String, String> v =
        Map.of(
            "title",
            "Film (2026) FTR",
            "cinema",
            "Kino Wien",
            "screens",
            "Saal 1, Saal 2",
            "not_before",
            "2026-12-08 10:00",
            "not_after",
            "2026-12-22 23:59",
            "utc_offset",
            "+01:00");
    assertThat(MailTemplate.DEFAULT.subject(v)).isEqualTo("KDMs: Film (2026) FTR for Kino Wien");
    assertThat(MailTemplate.DEFAULT.body(v))
        .contains(
            "Screens: Saal 1, Saal 2",
            "Valid from: 2026-12-08 10:00",
            "Valid until: 2026-12-22 23:59",
            "UTC+01:00")
        .doesNotContain("{{");
  }

  @Test
  void aTemplateNeedsASubjectLineAndKnownPlaceholdersAndItsSubjectStaysOneLine() {
    MailTemplate t =
        MailTemplate.parse("Subject: {{title}} $1 \\\r\n\r\nBody {{cinema}} {{cinema}}\r\n");
    assertThat(t.subject(Map.of("title", "A\r\nBcc: x@y.example")))
        .isEqualTo("A Bcc: x@y.example $1 \\");
    assertThat(t.body(Map.of("cinema", "C$1"))).isEqualTo("Body C$1 C$1\n");
    assertThatThrownBy(() -> MailTemplate.parse("Hello\n\nbody"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Subject:");
    assertThatThrownBy(() -> MailTemplate.parse("Subject: x\n\n{{password}}"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("{{password}}");
    assertThatThrownBy(
            () -> MailTemplate.parse("Subject: x\n\n" + "y".repeat(MailTemplate.MAX_BYTES)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
