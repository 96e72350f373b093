package dev.keycast.host.server;

import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.KdmFileNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A zip of KDMs being built in memory, the one zip code of the KDM fetch routes ({@link KdmArchives})
 * and the KDM mail ({@link KdmMailer}): each file named as wire-format.md section 9.5 says
 * ({@link KdmFileNames}, its fields read from the KDM unverified, for the name only), names made
 * unique ({@link KdmFileNames#numbered}), at most {@link #MAX_FILES} files and {@link #MAX_KDM_BYTES}
 * bytes of KDMs ({@code payload_too_large} beyond), fixed entry times (the same KDMs give the same bytes).
 */
final class KdmZip {
  private static final Logger LOG = LoggerFactory.getLogger(KdmZip.class);

  /** Most KDM files in one zip. */
  static final int MAX_FILES = 20_000;

  /** Most bytes of KDM documents in one zip (before compression). */
  static final long MAX_KDM_BYTES = 256L << 20;

  private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(2000, 1, 1, 0, 0);

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final ZipOutputStream out = new ZipOutputStream(bytes);
  private final Map<String, Integer> seen = new HashMap<>();
  private final long maxKdmBytes;
  private int files;
  private long kdmBytes;

  /** A zip with the fetch routes' caps. */
  KdmZip() {
    this(MAX_KDM_BYTES);
  }

  /** A zip of at most {@code maxKdmBytes} bytes of KDMs (an e-mail attachment is smaller than a fetch). */
  KdmZip(long maxKdmBytes) {
    this.maxKdmBytes = Math.min(maxKdmBytes, MAX_KDM_BYTES);
  }

  /** Files added so far. */
  int files() {
    return files;
  }

  /**
   * Adds a stored KDM of a screen of {@code cinema} (null: none) labelled {@code screen}, its name's
   * times in {@code zone}; a KDM that does not parse is named by its delivery id.
   */
  void addKdm(byte[] kdm, String cinema, String screen, ZoneOffset zone, String deliveryId)
      throws ApiException {
    String name;
    try {
      name = KdmFileNames.of(kdm, cinema, screen, zone);
    } catch (CinemaException e) {
      LOG.warn(
          "stored KDM delivery {} does not parse ({}): named by its delivery id",
          deliveryId,
          e.code());
      name = "unnamed_" + deliveryId + KdmFileNames.SUFFIX;
    }
    add(name, kdm);
  }

  /** Adds {@code kdm} under {@code name} (numbered when the name is taken). */
  void add(String name, byte[] kdm) throws ApiException {
    files++;
    kdmBytes += kdm.length;
    if (files > MAX_FILES || kdmBytes > maxKdmBytes) {
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "more than "
              + MAX_FILES
              + " KDMs or "
              + (maxKdmBytes >> 20)
              + " MiB in one zip: fetch per screen");
    }
    int n = seen.merge(name, 1, Integer::sum);
    String unique = KdmFileNames.numbered(name, n);
    while (n > 1 && seen.containsKey(unique)) {
      n = seen.merge(name, 1, Integer::sum);
      unique = KdmFileNames.numbered(name, n);
    }
    if (n > 1) {
      seen.put(unique, 1);
    }
    ZipEntry e = new ZipEntry(unique);
    e.setTimeLocal(ENTRY_TIME);
    try {
      out.putNextEntry(e);
      out.write(kdm);
      out.closeEntry();
    } catch (IOException ex) {
      throw new IllegalStateException(ex); // in memory
    }
  }

  /** The zip's bytes; nothing may be added afterwards. */
  byte[] finish() {
    try {
      out.close();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return bytes.toByteArray();
  }
}
