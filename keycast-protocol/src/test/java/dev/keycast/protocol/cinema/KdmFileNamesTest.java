package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** KDM file names (wire-format.md section 9.5). */
class KdmFileNamesTest {
  static final UUID CPL = UUID.fromString("3A5F1D2C-8B4E-4C6A-9F0E-1B2C3D4E5F60");

  @Test
  void aNameKeepsSafeCharactersCutsPartsAndWritesTheWindowInTheCinemasOffset() {
    OffsetDateTime nb = OffsetDateTime.of(2026, 12, 10, 9, 0, 0, 0, ZoneOffset.UTC);
    String n =
        KdmFileNames.name(
            "Le Film: L'été (2026) — FTR",
            "Cinéma Rex/Paris",
            "Salle 1",
            nb,
            nb.plusDays(14),
            ZoneOffset.ofHours(1),
            CPL);
    assertThat(n)
        .isEqualTo(
            "Le-Film--L--t---2026----FTR_Cin-ma-Rex-Paris_Salle-1_20261210T1000_20261224T1000_"
                + "3a5f1d2c-8b4e-4c6a-9f0e-1b2c3d4e5f60.kdm.xml");
    assertThat(KdmFileNames.isSafeFileName(n)).isTrue();
    String longTitle =
        KdmFileNames.name("T".repeat(100), null, "S", nb, nb.plusDays(1), ZoneOffset.UTC, CPL);
    assertThat(longTitle).startsWith("T".repeat(40) + "_no-cinema_S_20261210T0900_");
    assertThat(KdmFileNames.name("..hidden", "c", "s", nb, nb, ZoneOffset.UTC, CPL))
        .startsWith("-.hidden_");
    assertThat(KdmFileNames.numbered(n, 2)).endsWith("-1b2c3d4e5f60_2.kdm.xml");
  }

  @Test
  void pathTraversalAndOtherUnsafeNamesAreNotSafe() {
    for (String bad :
        new String[] {
          "../x.kdm.xml",
          "a/b.kdm.xml",
          "a\\b",
          ".hidden",
          "..",
          "",
          "C:x",
          "a b",
          "x".repeat(KdmFileNames.MAX_NAME + 1)
        }) {
      assertThat(KdmFileNames.isSafeFileName(bad)).as(bad).isFalse();
    }
    assertThat(KdmFileNames.isSafeFileName("a.kdm.xml")).isTrue();
  }

  @Test
  void theGoldenKdmIsNamedFromItsOwnFields() throws Exception {
    byte[] kdm = KdmFixtures.resourceBytes("expect-mt1-kdm.xml");
    KdmReader.UnverifiedNames n = KdmReader.readUnverifiedNames(kdm);
    assertThat(n.cplId()).isEqualTo(KdmFixtures.CPL_ID);
    assertThat(n.notValidBefore()).isEqualTo(KdmFixtures.NOT_BEFORE);
    assertThat(KdmFileNames.of(kdm, "Odeon", "1", ZoneOffset.ofHours(1)))
        .isEqualTo(
            KdmFileNames.name(
                n.contentTitle(),
                "Odeon",
                "1",
                KdmFixtures.NOT_BEFORE,
                KdmFixtures.NOT_AFTER,
                ZoneOffset.ofHours(1),
                KdmFixtures.CPL_ID))
        .contains("_20261210T1000_20261224T1000_");
  }

  @Test
  void anythingButAKdmIsRefusedWithoutReadingEntities() {
    String xxe =
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>";
    assertThatThrownBy(() -> KdmReader.readUnverifiedNames(xxe.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("kdm_malformed"));
    assertThatThrownBy(() -> KdmReader.readUnverifiedNames(new byte[KdmReader.MAX_KDM_BYTES + 1]))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("kdm_too_large"));
  }

  @Test
  void aCinemasZipIsNamedLikeItsKdmsWithoutTheScreen() {
    OffsetDateTime nb = OffsetDateTime.of(2026, 12, 10, 9, 0, 0, 0, ZoneOffset.UTC);
    String z =
        KdmFileNames.zipName(
            "Le Film (2026) FTR", "Kino Wien", nb, nb.plusDays(14), ZoneOffset.ofHours(1), CPL);
    assertThat(z)
        .isEqualTo(
            "Le-Film--2026--FTR_Kino-Wien_20261210T1000_20261224T1000_"
                + "3a5f1d2c-8b4e-4c6a-9f0e-1b2c3d4e5f60.zip");
    assertThat(KdmFileNames.isSafeFileName(z)).isTrue();
    String traversal = KdmFileNames.zipName("../x", null, nb, nb, ZoneOffset.UTC, CPL);
    assertThat(traversal).startsWith("-.-x_no-cinema_").doesNotContain("/");
    assertThat(KdmFileNames.isSafeFileName(traversal)).isTrue();
  }
}
