// SPDX-License-Identifier: MIT
// A toy stand-in for Coinbase Verifications' attestation indexer on Base: it
// answers getAttestationUid(recipient, schema) with the uid the test set
// (zero when none). Rebuild: internal/chain/js/compile.mjs writes
// TestIndexer.hex beside this file.
pragma solidity 0.8.28;

contract TestIndexer {
    mapping(address => mapping(bytes32 => bytes32)) private uids;

    function setAttestationUid(address recipient, bytes32 schema, bytes32 uid) external {
        uids[recipient][schema] = uid;
    }

    function getAttestationUid(address recipient, bytes32 schema) external view returns (bytes32) {
        return uids[recipient][schema];
    }
}
