package dev.keycast.host.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The S3 store's distribution objects: ingested DKDMs (by CPL and message id), studio rules (by
 * CPL) and imported legacy DKDM keys. The {@link S3ArtefactStore} checks that it is open and
 * delegates here.
 */
final class S3DkdmObjects {
  private final S3Objects objects;
  private final S3RecordCodec codec;

  S3DkdmObjects(S3Objects objects, S3RecordCodec codec) {
    this.objects = objects;
    this.codec = codec;
  }

  DkdmRecord putDkdm(DkdmRecord d) throws StoreException {
    ObjectNode n = codec.object();
    n.put("messageId", d.messageId());
    n.put("cplId", d.cplId());
    n.put("keySetId", d.keySetId());
    n.put("notValidAfter", d.notValidAfter().getEpochSecond());
    n.put("signerThumbprint", d.signerThumbprint());
    n.put("sealedContentKeys", S3RecordCodec.b64(d.sealedContentKeys()));
    n.put("binding", S3RecordCodec.b64(d.binding()));
    n.put("ingestedAt", d.ingestedAt().toEpochMilli());
    objects.put(
        S3Layout.dkdmsOfCpl(uuidOf(d.cplId())) + uuidOf(d.messageId()), codec.encode(n), false);
    return d;
  }

  List<DkdmRecord> findDkdms(String cplId) throws StoreException {
    checkCplId(cplId);
    String sub = S3Layout.dkdmsOfCpl(uuidOf(cplId));
    List<DkdmRecord> out = new ArrayList<>();
    for (String key : objects.list(sub, null, 1000)) {
      Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
      if (body.isEmpty()) {
        continue;
      }
      JsonNode n = codec.decode(key, body.get());
      DkdmRecord d =
          S3RecordCodec.stored(
              key,
              () ->
                  new DkdmRecord(
                      S3RecordCodec.text(key, n, "messageId"),
                      S3RecordCodec.text(key, n, "cplId"),
                      S3RecordCodec.text(key, n, "keySetId"),
                      Instant.ofEpochSecond(S3RecordCodec.number(key, n, "notValidAfter")),
                      S3RecordCodec.text(key, n, "signerThumbprint"),
                      S3RecordCodec.binary(key, n, "sealedContentKeys"),
                      S3RecordCodec.binary(key, n, "binding"),
                      Instant.ofEpochMilli(S3RecordCodec.number(key, n, "ingestedAt"))));
      if (!d.cplId().equals(cplId) || !key.endsWith("/" + uuidOf(d.messageId()))) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another DKDM");
      }
      out.add(d);
    }
    out.sort(Comparator.comparing(DkdmRecord::messageId));
    return out;
  }

  RulesRecord putRules(RulesRecord r) throws StoreException {
    ObjectNode n = codec.object();
    n.put("cplId", r.cplId());
    n.put("statement", S3RecordCodec.b64(r.statement()));
    n.put("key", S3RecordCodec.b64(r.key()));
    n.put("signature", S3RecordCodec.b64(r.signature()));
    n.put("signerCertificate", S3RecordCodec.b64(r.signerCertificate()));
    n.put("signerSignature", S3RecordCodec.b64(r.signerSignature()));
    n.put("storedAt", r.storedAt().toEpochMilli());
    objects.put(S3Layout.rulesOfCpl(uuidOf(r.cplId())), codec.encode(n), false);
    return r;
  }

  Optional<RulesRecord> getRules(String cplId) throws StoreException {
    checkCplId(cplId);
    String key = S3Layout.rulesOfCpl(uuidOf(cplId));
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    RulesRecord r =
        S3RecordCodec.stored(
            key,
            () ->
                new RulesRecord(
                    S3RecordCodec.text(key, n, "cplId"),
                    S3RecordCodec.binary(key, n, "statement"),
                    S3RecordCodec.binary(key, n, "key"),
                    S3RecordCodec.binary(key, n, "signature"),
                    S3RecordCodec.binary(key, n, "signerCertificate"),
                    S3RecordCodec.binary(key, n, "signerSignature"),
                    Instant.ofEpochMilli(S3RecordCodec.number(key, n, "storedAt"))));
    if (!r.cplId().equals(cplId)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another CPL");
    }
    return Optional.of(r);
  }

  LegacyKeyRecord putLegacyKey(LegacyKeyRecord k) throws StoreException {
    ObjectNode n = codec.object();
    n.put("id", k.id());
    n.put("certificate", S3RecordCodec.b64(k.certificate()));
    n.put("sealedKey", S3RecordCodec.b64(k.sealedKey()));
    n.put("importedAt", k.importedAt().toEpochMilli());
    objects.put(S3Layout.LEGACY_KEYS + k.id(), codec.encode(n), false);
    return k;
  }

  List<LegacyKeyRecord> listLegacyKeys() throws StoreException {
    List<LegacyKeyRecord> out = new ArrayList<>();
    for (String key : objects.list(S3Layout.LEGACY_KEYS, null, LegacyKeyRecord.MAX_KEYS)) {
      Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
      if (body.isEmpty()) {
        continue;
      }
      JsonNode n = codec.decode(key, body.get());
      LegacyKeyRecord r =
          S3RecordCodec.stored(
              key,
              () ->
                  new LegacyKeyRecord(
                      S3RecordCodec.text(key, n, "id"),
                      S3RecordCodec.binary(key, n, "certificate"),
                      S3RecordCodec.binary(key, n, "sealedKey"),
                      Instant.ofEpochMilli(S3RecordCodec.number(key, n, "importedAt"))));
      if (!key.equals(S3Layout.LEGACY_KEYS + r.id())) {
        throw new StoreException(
            StoreException.Code.STORE_CORRUPT, key + " names another legacy key");
      }
      out.add(r);
    }
    out.sort(Comparator.comparing(LegacyKeyRecord::id));
    return out;
  }

  private static void checkCplId(String cplId) {
    if (cplId == null || !cplId.matches("urn:uuid:[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("a CPL id is urn:uuid: and a lowercase UUID");
    }
  }

  private static String uuidOf(String urn) {
    return urn.substring("urn:uuid:".length());
  }
}
