/**
 * The one strict, capped CBOR (RFC 8949) codec used by receipts, attestation documents and the
 * NSM protocol.
 *
 * <p>{@link dev.keycast.protocol.cbor.CborReader} is a pull reader whose {@link
 * dev.keycast.protocol.cbor.CborReader.Options} say what it tolerates (indefinite-length
 * containers, non-shortest arguments); it checks every declared length against its cap and the
 * remaining input before allocating, and reports bad input as a {@link
 * dev.keycast.protocol.MalformedInputException} with code {@code truncated}, {@code oversize},
 * {@code malformed} or {@code non_canonical}. {@link dev.keycast.protocol.cbor.CborWriter} emits
 * definite-length, shortest-form encodings and sorts map keys in the RFC 8949 section 4.2.1
 * deterministic order on request.
 */
package dev.keycast.protocol.cbor;
