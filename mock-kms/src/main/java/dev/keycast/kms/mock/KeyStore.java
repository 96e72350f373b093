package dev.keycast.kms.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * KMS keys kept in a state directory: {@code keys/<key-id>.json} (metadata and policy) and {@code
 * keys/<key-id>.key} (32 bytes of AES-256 backing key material, mode 0600). Every write goes to a
 * temporary file in the same directory, is forced to disk, then atomically renamed. The grants of a
 * key are kept in {@code keys/<key-id>.grants.json}.
 */
final class KeyStore implements AutoCloseable {
  static final Pattern KEY_ID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final Set<PosixFilePermission> OWNER_RW =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_RWX =
      PosixFilePermissions.fromString("rwx------");

  /** Public key metadata and its policy document. Never holds key material. */
  record KeyMetadata(
      String keyId,
      String arn,
      long creationDateMillis,
      String description,
      boolean enabled,
      String policy) {}

  private final Path dir;
  private final ObjectMapper json;
  private final Map<String, KeyMetadata> metadata = new TreeMap<>();
  private final Map<String, byte[]> material = new TreeMap<>();
  private final Map<String, List<Grant>> grants = new TreeMap<>();
  private final SecureRandom random;

  KeyStore(Path stateDirectory, ObjectMapper json, SecureRandom random) throws IOException {
    this.dir = stateDirectory.resolve("keys");
    this.json = json;
    this.random = random;
    createPrivateDirectory(stateDirectory);
    createPrivateDirectory(dir);
    load();
  }

  static void createPrivateDirectory(Path d) throws IOException {
    if (!Files.isDirectory(d)) {
      Files.createDirectories(d);
      try {
        Files.setPosixFilePermissions(d, OWNER_RWX);
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system; nothing more we can do
      }
    }
  }

  private void load() throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        String id = name.substring(0, name.length() - ".json".length());
        if (!KEY_ID.matcher(id).matches()) {
          continue;
        }
        JsonNode n = json.readTree(p.toFile());
        byte[] km = Files.readAllBytes(dir.resolve(id + ".key"));
        if (km.length != 32) {
          Arrays.fill(km, (byte) 0);
          throw new IOException("key material of " + id + " is not 32 bytes");
        }
        metadata.put(
            id,
            new KeyMetadata(
                id,
                n.path("Arn").asText(),
                n.path("CreationDateMillis").asLong(),
                n.path("Description").asText(""),
                n.path("Enabled").asBoolean(true),
                n.path("Policy").asText()));
        material.put(id, km);
        grants.put(id, loadGrants(id));
      }
    }
  }

  private List<Grant> loadGrants(String keyId) throws IOException {
    Path p = dir.resolve(keyId + ".grants.json");
    List<Grant> out = new ArrayList<>();
    if (!Files.exists(p)) {
      return out;
    }
    for (JsonNode g : json.readTree(p.toFile())) {
      List<String> ops = new ArrayList<>();
      g.path("Operations").forEach(o -> ops.add(o.asText()));
      out.add(
          new Grant(
              g.path("GrantId").asText(),
              keyId,
              g.path("Name").asText(""),
              g.path("GranteePrincipal").asText(),
              g.hasNonNull("RetiringPrincipal")
                  ? Optional.of(g.get("RetiringPrincipal").asText())
                  : Optional.empty(),
              ops,
              strings(g.path("EncryptionContextSubset")),
              strings(g.path("EncryptionContextEquals")),
              g.path("IssuingAccount").asText(),
              g.path("CreationDateMillis").asLong()));
    }
    return out;
  }

  private static Map<String, String> strings(JsonNode n) {
    Map<String, String> m = new TreeMap<>();
    n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }

  /** The grants of a key, oldest first. */
  synchronized List<Grant> grants(String keyId) {
    return List.copyOf(grants.getOrDefault(keyId, List.of()));
  }

  synchronized void addGrant(Grant g) throws IOException {
    List<Grant> next = new ArrayList<>(grants.getOrDefault(g.keyId(), List.of()));
    next.add(g);
    persistGrants(g.keyId(), next);
    grants.put(g.keyId(), next);
  }

  /** Removes a grant; false if the key has no such grant. */
  synchronized boolean removeGrant(String keyId, String grantId) throws IOException {
    List<Grant> next = new ArrayList<>(grants.getOrDefault(keyId, List.of()));
    if (!next.removeIf(g -> g.grantId().equals(grantId))) {
      return false;
    }
    persistGrants(keyId, next);
    grants.put(keyId, next);
    return true;
  }

  private void persistGrants(String keyId, List<Grant> list) throws IOException {
    com.fasterxml.jackson.databind.node.ArrayNode arr = json.createArrayNode();
    for (Grant g : list) {
      ObjectNode n = arr.addObject();
      n.put("GrantId", g.grantId());
      n.put("Name", g.name());
      n.put("GranteePrincipal", g.granteePrincipal());
      g.retiringPrincipal().ifPresent(r -> n.put("RetiringPrincipal", r));
      g.operations().forEach(n.putArray("Operations")::add);
      ObjectNode sub = n.putObject("EncryptionContextSubset");
      g.encryptionContextSubset().forEach(sub::put);
      ObjectNode eq = n.putObject("EncryptionContextEquals");
      g.encryptionContextEquals().forEach(eq::put);
      n.put("IssuingAccount", g.issuingAccount());
      n.put("CreationDateMillis", g.creationDateMillis());
    }
    writeAtomically(
        dir.resolve(keyId + ".grants.json"),
        json.writerWithDefaultPrettyPrinter().writeValueAsBytes(arr));
  }

  synchronized KeyMetadata create(
      String region, String accountId, String description, String policy, long now)
      throws IOException {
    String id = UUID.randomUUID().toString();
    String arn = "arn:aws:kms:" + region + ":" + accountId + ":key/" + id;
    byte[] km = new byte[32];
    random.nextBytes(km);
    writeAtomically(dir.resolve(id + ".key"), km);
    KeyMetadata md = new KeyMetadata(id, arn, now, description, true, policy);
    persist(md);
    material.put(id, km);
    metadata.put(id, md);
    grants.put(id, new ArrayList<>());
    return md;
  }

  synchronized Optional<KeyMetadata> find(String keyId) {
    return Optional.ofNullable(metadata.get(keyId));
  }

  synchronized List<KeyMetadata> list() {
    return new ArrayList<>(metadata.values());
  }

  synchronized KeyMetadata update(KeyMetadata md) throws IOException {
    if (!metadata.containsKey(md.keyId())) {
      throw new IllegalStateException("unknown key");
    }
    persist(md);
    metadata.put(md.keyId(), md);
    return md;
  }

  /** A copy of the key's backing material; the caller zeroizes it. */
  synchronized byte[] material(String keyId) {
    byte[] km = material.get(keyId);
    if (km == null) {
      throw new IllegalStateException("unknown key");
    }
    return km.clone();
  }

  private void persist(KeyMetadata md) throws IOException {
    ObjectNode n = json.createObjectNode();
    n.put("KeyId", md.keyId());
    n.put("Arn", md.arn());
    n.put("CreationDateMillis", md.creationDateMillis());
    n.put("Description", md.description());
    n.put("Enabled", md.enabled());
    n.put("Policy", md.policy());
    writeAtomically(
        dir.resolve(md.keyId() + ".json"),
        json.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
  }

  static void writeAtomically(Path target, byte[] data) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
              PosixFilePermissions.asFileAttribute(OWNER_RW))) {
        ch.write(java.nio.ByteBuffer.wrap(data));
        ch.force(true);
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public synchronized void close() {
    material.values().forEach(b -> Arrays.fill(b, (byte) 0));
    material.clear();
  }
}
