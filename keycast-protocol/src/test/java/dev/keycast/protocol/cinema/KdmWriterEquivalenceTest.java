package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The direct canonical writer ({@link KdmWriter}) against the DOM writer it replaced ({@link
 * DomKdmWriter}: a DOM, the JDK's XML signature engine with Santuario's inclusive C14N, the JDK's
 * Transformer): for the same inputs and the same randomness both write the same bytes (but for
 * how a character outside the BMP is written: see {@link #everyTitleAndAnnotationGivesTheDomWritersBytes}),
 * so the digests, the canonical SignedInfo and the signature are the same. Titles and annotations with
 * XML's special characters and non-ASCII text are among the inputs; xmlsec1 verifies the KDMs
 * whose text needs escaping.
 */
class KdmWriterEquivalenceTest {
  /** Text that markup characters, quotes, non-ASCII and a supplementary character are in. */
  static final List<String> TITLES =
      List.of(
          "Keycast_Test_FTR-1_F_EN-XX_51_2K_20261207_SMPTE_OV",
          "Tom & Jerry <Director's Cut> \"2K\" 'Scope' a > b",
          "&amp; &lt;not an entity&gt; &#xD; ]]> <!-- no comment --> <?pi?>",
          "Amélie – 日本語のタイトル – Ελληνικά – Ærø",
          "Emoji \uD83C\uDFAC and tabs\u00A0non-breaking",
          "a");

  private static byte[] dom(KdmRequest r, String seed) throws Exception {
    return DomKdmWriter.write(KdmFixtures.signer(), r, new DeterministicRandom(seed));
  }

  private static byte[] direct(KdmRequest r, String seed) throws Exception {
    return KdmWriter.write(KdmFixtures.signer(), r, new DeterministicRandom(seed));
  }

  private static KdmRequest titled(String title, String annotation, KdmFormulation f)
      throws Exception {
    KdmRequest g = KdmWriterTest.request(f);
    ContentKeySet keys = ContentKeySet.of(g.keys().cplId(), title, g.keys().keys());
    return new KdmRequest(
        keys,
        g.screen(),
        g.notValidBefore(),
        g.notValidAfter(),
        f,
        g.trustedDeviceThumbprints(),
        g.contentAuthenticator(),
        g.forensicMarkFlags(),
        KdmFixtures.MESSAGE_ID,
        g.issueDate(),
        annotation);
  }

  @Test
  void theGoldenRequestGivesTheDomWritersBytes() throws Exception {
    byte[] old = dom(KdmFixtures.goldenRequest(), "keycast golden KDM mt1");
    assertThat(new String(old, StandardCharsets.UTF_8))
        .isEqualTo(KdmFixtures.resource("expect-mt1-kdm.xml"));
    assertThat(direct(KdmFixtures.goldenRequest(), "keycast golden KDM mt1")).isEqualTo(old);
  }

  @ParameterizedTest
  @EnumSource(KdmFormulation.class)
  void everyFormulationGivesTheDomWritersBytes(KdmFormulation f) throws Exception {
    KdmRequest r = titled("Keycast test " + f.wireName(), null, f);
    assertThat(new String(direct(r, "f " + f), StandardCharsets.UTF_8))
        .isEqualTo(new String(dom(r, "f " + f), StandardCharsets.UTF_8));
  }

  /**
   * The one difference: the JDK's Transformer writes a supplementary character (outside the BMP)
   * as a decimal character reference, {@code &#127916;}, where this writer writes its UTF-8, as
   * C14N does. Both parse to the same text, the digests and the signature are the same (they are
   * over the canonical form); with those references resolved the bytes are equal.
   */
  @Test
  void everyTitleAndAnnotationGivesTheDomWritersBytes() throws Exception {
    for (String title : TITLES) {
      for (String annotation : new String[] {null, title, "Note: " + title}) {
        KdmRequest r = titled(title, annotation, KdmFormulation.DCI_SPECIFIC);
        assertThat(new String(direct(r, title), StandardCharsets.UTF_8))
            .as("title %s annotation %s", title, annotation)
            .isEqualTo(
                supplementaryReferencesResolved(new String(dom(r, title), StandardCharsets.UTF_8)));
      }
    }
  }

  @Test
  void onlyTheSupplementaryCharacterIsWrittenDifferently() throws Exception {
    KdmRequest r = titled(TITLES.get(4), null, KdmFormulation.DCI_SPECIFIC);
    String old = new String(dom(r, "s"), StandardCharsets.UTF_8);
    String now = new String(direct(r, "s"), StandardCharsets.UTF_8);
    assertThat(old).contains("Emoji &#127916; and").doesNotContain("\uD83C\uDFAC");
    assertThat(now).contains("Emoji \uD83C\uDFAC and").doesNotContain("&#127916;");
    assertThat(digests(now)).isEqualTo(digests(old));
    assertThat(signatureValue(now)).isEqualTo(signatureValue(old));
  }

  private static String supplementaryReferencesResolved(String xml) {
    return java.util.regex.Pattern.compile("&#([0-9]{5,7});")
        .matcher(xml)
        .replaceAll(
            m -> {
              int cp = Integer.parseInt(m.group(1));
              return cp > 0xFFFF ? new String(Character.toChars(cp)) : m.group();
            });
  }

  private static List<String> digests(String xml) {
    return java.util.regex.Pattern.compile("<ds:DigestValue>([^<]*)</ds:DigestValue>")
        .matcher(xml)
        .results()
        .map(m -> m.group(1))
        .toList();
  }

  private static String signatureValue(String xml) {
    return xml.substring(xml.indexOf("<ds:SignatureValue>"), xml.indexOf("</ds:SignatureValue>"));
  }

  /** One to 256 keys of every type: the repeated parts and the buffer's growth. */
  @ParameterizedTest
  @ValueSource(ints = {1, 4, 37, 256})
  void keyCountsGiveTheDomWritersBytes(int count) throws Exception {
    KdmRequest g = KdmFixtures.goldenRequest();
    KeyType[] types = KeyType.values();
    java.util.ArrayList<ContentKey> keys = new java.util.ArrayList<>();
    for (int i = 0; i < count; i++) {
      keys.add(ContentKey.of(new UUID(0x1234L, i), types[i % types.length], new byte[16]));
    }
    KdmRequest r =
        KdmRequest.modifiedTransitional1(
            ContentKeySet.of(g.keys().cplId(), "n" + count, keys),
            g.screen(),
            g.notValidBefore(),
            g.notValidAfter(),
            g.messageId(),
            g.issueDate());
    assertThat(direct(r, "n" + count)).isEqualTo(dom(r, "n" + count));
  }

  /** A reused writer, between signers and requests, carries nothing over. */
  @Test
  void aReusedWriterAcrossSignersGivesTheDomWritersBytes() throws Exception {
    KdmWriter writer = new KdmWriter();
    for (int i = 0; i < 3; i++) {
      KdmSigner signer = KdmFixtures.signer();
      KdmRequest r = titled(TITLES.get(i), null, KdmFormulation.MODIFIED_TRANSITIONAL_1);
      byte[] a = writer.issue(signer, r, new DeterministicRandom("r" + i));
      assertThat(a).isEqualTo(DomKdmWriter.write(signer, r, new DeterministicRandom("r" + i)));
    }
  }

  /**
   * Attack: a content title (from the sender) that closes its element and writes its own, e.g. a
   * later ContentKeysNotValidAfter. Escaping keeps it text: the KDM is schema-valid, verifies,
   * and reads back with the title as given and the window as issued.
   */
  @Test
  void markupInjectionThroughTheContentTitleStaysText(@TempDir Path dir) throws Exception {
    String title =
        "X</ContentTitleText><ContentKeysNotValidAfter>2099-01-01T00:00:00+00:00</ContentKeysNotValidAfter>"
            + "<ContentTitleText>&\"'";
    KdmRequest r = titled(title, null, KdmFormulation.MODIFIED_TRANSITIONAL_1);
    byte[] kdm = KdmWriter.write(KdmFixtures.signer(), r, new SecureRandom());
    KdmWriterTest.checkWithIndependentTools(dir, kdm, r);
    VerifiedKdm v = KdmReader.read(kdm, KdmFixtures.signerRoot(), KdmFixtures.screenKey());
    assertThat(v.contentTitle()).isEqualTo(title);
    assertThat(v.annotationText()).isEqualTo(title);
    assertThat(v.notValidAfter()).isEqualTo(r.notValidAfter());
  }

  /** Every title of {@link #TITLES} passes xmllint, xmlsec1 and the block checks, and reads back as given. */
  @Test
  void titlesWithSpecialCharactersVerifyWithXmlsec1(@TempDir Path dir) throws Exception {
    for (String title : TITLES) {
      KdmRequest r = titled(title, "<&>\"' " + title, KdmFormulation.DCI_ANY);
      byte[] kdm = KdmWriter.write(KdmFixtures.signer(), r, new SecureRandom());
      KdmWriterTest.checkWithIndependentTools(dir, kdm, r);
      VerifiedKdm v = KdmReader.read(kdm, KdmFixtures.signerRoot(), KdmFixtures.screenKey());
      assertThat(v.contentTitle()).isEqualTo(title);
      assertThat(v.annotationText()).isEqualTo("<&>\"' " + title);
    }
  }

  /**
   * A lone surrogate has no UTF-8 form: refused with a code, not written as a replacement
   * character. A title is refused already by the content key set it comes in ({@link KdmText}); an
   * annotation handed to the writer directly is refused by the writer.
   */
  @Test
  void aLoneSurrogateIsRefused() throws Exception {
    assertThatThrownBy(
            () ->
                KdmWriter.write(
                    KdmFixtures.signer(),
                    titled("half \uD83C of a pair", "fine", KdmFormulation.MODIFIED_TRANSITIONAL_1),
                    new SecureRandom()))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("content_key_set_title"));
    assertThatThrownBy(
            () ->
                KdmWriter.write(
                    KdmFixtures.signer(),
                    titled("fine", "\uDC00 low first", KdmFormulation.MODIFIED_TRANSITIONAL_1),
                    new SecureRandom()))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("kdm_annotation"));
  }
}
