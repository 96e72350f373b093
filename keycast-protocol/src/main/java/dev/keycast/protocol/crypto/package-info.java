/**
 * The public-key primitives behind a fan-out, with a pure-Java and an OpenSSL (libcrypto via FFM)
 * implementation: {@link dev.keycast.protocol.crypto.CryptoBackend}, chosen once per process by
 * {@link dev.keycast.protocol.crypto.CryptoBackends}.
 */
package dev.keycast.protocol.crypto;
