package dev.keycast.host;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.ForwardCommit;
import dev.keycast.host.store.ForwardRecord;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.RecipientRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.host.store.SendCommit;
import dev.keycast.host.store.SendRecord;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.host.store.StoredKeySet;
import dev.keycast.host.store.StoredSend;
import dev.keycast.host.store.StoredSenderSet;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/** A store whose commits fail on demand (as an I/O error would), delegating everything else. */
final class FailingStore implements ArtefactStore {
  private final ArtefactStore d;
  volatile StoreException.Code failCommits;

  FailingStore(ArtefactStore delegate) {
    this.d = delegate;
  }

  private void maybeFail() throws StoreException {
    StoreException.Code c = failCommits;
    if (c != null) {
      throw new StoreException(c, "injected failure");
    }
  }

  @Override
  public void putSealedKeySet(int version, byte[] bytes) throws StoreException {
    d.putSealedKeySet(version, bytes);
  }

  @Override
  public Optional<StoredKeySet> latestSealedKeySet() throws StoreException {
    return d.latestSealedKeySet();
  }

  @Override
  public void putSealedSenderSet(long version, byte[] bytes) throws StoreException {
    d.putSealedSenderSet(version, bytes);
  }

  @Override
  public Optional<StoredSenderSet> latestSealedSenderSet() throws StoreException {
    return d.latestSealedSenderSet();
  }

  @Override
  public RecipientRecord putRecipient(RecipientRecord r) throws StoreException {
    return d.putRecipient(r);
  }

  @Override
  public RecipientRecord replaceRecipient(RecipientRecord r) throws StoreException {
    return d.replaceRecipient(r);
  }

  @Override
  public List<RecipientRecord> findRecipients(Collection<String> f) throws StoreException {
    return d.findRecipients(f);
  }

  @Override
  public List<RecipientRecord> listRecipients(String a, int l) throws StoreException {
    return d.listRecipients(a, l);
  }

  @Override
  public long countRecipients() throws StoreException {
    return d.countRecipients();
  }

  @Override
  public CinemaRecord putCinema(CinemaRecord c) throws StoreException {
    return d.putCinema(c);
  }

  @Override
  public Optional<CinemaRecord> getCinema(String n) throws StoreException {
    return d.getCinema(n);
  }

  @Override
  public ScreenRecord putScreen(ScreenRecord s) throws StoreException {
    return d.putScreen(s);
  }

  @Override
  public List<ScreenRecord> findScreens(Collection<String> t) throws StoreException {
    return d.findScreens(t);
  }

  @Override
  public List<ScreenRecord> findScreensByFingerprint(Collection<String> f) throws StoreException {
    return d.findScreensByFingerprint(f);
  }

  @Override
  public List<ScreenRecord> listScreens(String c, String a, int l) throws StoreException {
    return d.listScreens(c, a, l);
  }

  @Override
  public SendCommit commitSend(SendRecord s) throws StoreException {
    maybeFail();
    return d.commitSend(s);
  }

  @Override
  public Optional<StoredSend> findSend(String id, byte[] h) throws StoreException {
    return d.findSend(id, h);
  }

  @Override
  public Optional<StoredSend> getSend(String id) throws StoreException {
    return d.getSend(id);
  }

  @Override
  public Optional<ReceiptRecord> getReceipt(String id) throws StoreException {
    return d.getReceipt(id);
  }

  @Override
  public List<ReceiptRecord> receiptsForSend(String id) throws StoreException {
    return d.receiptsForSend(id);
  }

  @Override
  public Optional<StoredDelivery> getDelivery(String id) throws StoreException {
    return d.getDelivery(id);
  }

  @Override
  public List<StoredDelivery> listDeliveries(String fp, String a, int l) throws StoreException {
    return d.listDeliveries(fp, a, l);
  }

  @Override
  public List<StoredSend> sealedSecretsOpenForLateRecipients(Instant now, String a, int l)
      throws StoreException {
    return d.sealedSecretsOpenForLateRecipients(now, a, l);
  }

  @Override
  public ForwardCommit commitForward(ForwardRecord f) throws StoreException {
    maybeFail();
    return d.commitForward(f);
  }

  @Override
  public boolean hasDelivery(String s, String fp) throws StoreException {
    return d.hasDelivery(s, fp);
  }

  @Override
  public void close() throws StoreException {
    d.close();
  }
}
