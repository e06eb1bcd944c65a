// SPDX-License-Identifier: MIT
// A toy ENS for tests: a registry that maps a node to its resolver (the one
// read ENS's registry answers: resolver(bytes32)) and a resolver with the two
// records agent verification reads, name(bytes32) for a reverse node and
// addr(bytes32) for a forward one. Anyone may set anything: the tests play
// every name's owner. Rebuild: internal/chain/js/compile.mjs writes
// TestENSRegistry.hex and TestENSResolver.hex beside this file.
pragma solidity 0.8.28;

contract TestENSRegistry {
    mapping(bytes32 => address) public resolver;

    function setResolver(bytes32 node, address r) external {
        resolver[node] = r;
    }
}

contract TestENSResolver {
    mapping(bytes32 => string) public name;
    mapping(bytes32 => address) public addr;

    function setName(bytes32 node, string calldata n) external {
        name[node] = n;
    }

    function setAddr(bytes32 node, address a) external {
        addr[node] = a;
    }
}
