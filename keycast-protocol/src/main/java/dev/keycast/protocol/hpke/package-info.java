/**
 * HPKE (RFC 9180) base mode for Keycast's v1 suite, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * AES-256-GCM, over BouncyCastle; raw 32-byte X25519 keys. See wire-format.md section 2.
 */
package dev.keycast.protocol.hpke;
