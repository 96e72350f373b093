package dev.keycast.host.server;

import java.util.AbstractSequentialList;
import java.util.Iterator;
import java.util.ListIterator;
import java.util.NoSuchElementException;
import java.util.function.Supplier;

/**
 * A read-only list of a known size whose elements are produced each time it is iterated (a large
 * send's delivery summaries, read again from the spooled enclave answer), so that encoding it
 * holds one element at a time. Sequential access only; {@code get(i)} walks from the start.
 */
final class StreamedList<T> extends AbstractSequentialList<T> {
  private final int size;
  private final Supplier<Iterator<T>> source;

  StreamedList(int size, Supplier<Iterator<T>> source) {
    this.size = size;
    this.source = source;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public ListIterator<T> listIterator(int index) {
    Iterator<T> in = source.get();
    for (int i = 0; i < index; i++) {
      in.next();
    }
    int start = index;
    return new ListIterator<>() {
      private int at = start;

      @Override
      public boolean hasNext() {
        if (at >= size) {
          in.hasNext(); // lets the source read to its end and close what it opened
          return false;
        }
        return in.hasNext();
      }

      @Override
      public T next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        at++;
        return in.next();
      }

      @Override
      public boolean hasPrevious() {
        return false;
      }

      @Override
      public T previous() {
        throw new UnsupportedOperationException("a streamed list is read forwards");
      }

      @Override
      public int nextIndex() {
        return at;
      }

      @Override
      public int previousIndex() {
        return at - 1;
      }

      @Override
      public void remove() {
        throw new UnsupportedOperationException("read-only");
      }

      @Override
      public void set(T t) {
        throw new UnsupportedOperationException("read-only");
      }

      @Override
      public void add(T t) {
        throw new UnsupportedOperationException("read-only");
      }
    };
  }
}
