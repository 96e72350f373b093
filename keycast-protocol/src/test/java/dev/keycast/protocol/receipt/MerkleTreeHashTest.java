package dev.keycast.protocol.receipt;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class MerkleTreeHashTest {
  private static final HexFormat HEX = HexFormat.of();

  // The reference inputs and tree heads of RFC 6962's reference implementation (certificate
  // transparency's merkle tree tests): roots of the first n leaves, n = 0..8.
  private static final List<String> LEAVES =
      List.of(
          "",
          "00",
          "10",
          "2021",
          "3031",
          "40414243",
          "5051525354555657",
          "606162636465666768696a6b6c6d6e6f");
  private static final List<String> ROOTS =
      List.of(
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
          "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
          "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
          "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
          "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
          "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
          "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");

  @Test
  void rootsEqualTheRfc6962ReferenceTreeHeads() {
    MerkleTreeHash tree = new MerkleTreeHash();
    assertThat(HEX.formatHex(tree.root())).isEqualTo(ROOTS.get(0));
    for (int n = 1; n <= LEAVES.size(); n++) {
      tree.addLeaf(HEX.parseHex(LEAVES.get(n - 1)));
      assertThat(tree.size()).isEqualTo(n);
      assertThat(HEX.formatHex(tree.root())).as("size %d", n).isEqualTo(ROOTS.get(n));
    }
  }

  @Test
  void incrementalRootEqualsTheRecursiveDefinitionForEveryShape() throws Exception {
    List<byte[]> leaves = new ArrayList<>();
    MerkleTreeHash tree = new MerkleTreeHash();
    for (int n = 1; n <= 300; n++) {
      byte[] leaf = {(byte) n, (byte) (n >> 8), (byte) (n * 7)};
      leaves.add(leaf);
      tree.addLeaf(leaf);
      assertThat(tree.root()).as("size %d", n).isEqualTo(mth(leaves));
    }
  }

  @Test
  void aLeafMovedOrChangedChangesTheRoot() throws Exception {
    List<byte[]> leaves = new ArrayList<>();
    for (int i = 0; i < 13; i++) {
      leaves.add(new byte[] {(byte) i});
    }
    byte[] root = mth(leaves);
    List<byte[]> swapped = new ArrayList<>(leaves);
    swapped.set(3, leaves.get(4));
    swapped.set(4, leaves.get(3));
    assertThat(mth(swapped)).isNotEqualTo(root);
    List<byte[]> changed = new ArrayList<>(leaves);
    changed.set(12, new byte[] {(byte) 0x99});
    assertThat(mth(changed)).isNotEqualTo(root);
    // a node's hash is not accepted as a leaf (second-preimage: the 0x00/0x01 prefixes)
    byte[] pair = new byte[64];
    System.arraycopy(leafHash(leaves.get(0)), 0, pair, 0, 32);
    System.arraycopy(leafHash(leaves.get(1)), 0, pair, 32, 32);
    assertThat(mth(List.of(pair))).isNotEqualTo(mth(leaves.subList(0, 2)));
  }

  /** RFC 9162 section 2.1.1, written as the RFC states it (recursive, the whole list). */
  private static byte[] mth(List<byte[]> d) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    if (d.isEmpty()) {
      return sha.digest();
    }
    if (d.size() == 1) {
      return leafHash(d.get(0));
    }
    int k = Integer.highestOneBit(d.size() - 1);
    sha.update((byte) 1);
    sha.update(mth(d.subList(0, k)));
    sha.update(mth(d.subList(k, d.size())));
    return sha.digest();
  }

  private static byte[] leafHash(byte[] data) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update((byte) 0);
    return sha.digest(data);
  }

  @Test
  void rootDoesNotDisturbLaterLeaves() {
    MerkleTreeHash a = new MerkleTreeHash();
    MerkleTreeHash b = new MerkleTreeHash();
    for (int i = 0; i < 40; i++) {
      byte[] leaf = Arrays.copyOf(new byte[] {(byte) i}, 5);
      a.addLeaf(leaf);
      a.root();
      b.addLeaf(leaf);
    }
    assertThat(a.root()).isEqualTo(b.root());
  }
}
