/**
 * The sender's payload to the enclave (api.md section 1.1), sealed and opened in one place: {@link
 * dev.keycast.protocol.send.SendPayloadParameters} binds the HPKE suite, the {@code info} (the
 * label {@value dev.keycast.protocol.send.SendPayloadParameters#INFO_LABEL}, a zero byte and the
 * key-set id) and the associated data (the policy's exact bytes); {@link
 * dev.keycast.protocol.send.SendPayloadSealer} seals (the CLI, the load tool, benchmarks) and
 * {@link dev.keycast.protocol.send.SendPayloadOpener} opens (the enclave). In the manner of Google
 * Tink's {@code HybridEncrypt}/{@code HybridDecrypt}: immutable parameters, a primitive created
 * once from a key, typed errors ({@link dev.keycast.protocol.MalformedInputException} for a bad
 * key, {@link dev.keycast.protocol.DecryptionFailedException} for every failure to open).
 */
package dev.keycast.protocol.send;
