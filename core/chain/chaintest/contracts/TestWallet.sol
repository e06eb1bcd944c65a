// SPDX-License-Identifier: MIT
// A toy smart wallet for tests: one owner (an EOA), ERC-1271 signatures made
// by the owner's key over the hash itself, and a CREATE2 factory so that its
// address is known before it exists (what ERC-6492 signatures rely on).
// Rebuild: internal/chain/js/compile.mjs writes TestWallet.hex and
// TestWalletFactory.hex beside this file.
pragma solidity 0.8.28;

contract TestWallet {
    bytes4 private constant ERC1271_MAGIC = 0x1626ba7e;
    // secp256k1n / 2: a higher s is the malleable twin of a valid signature.
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    receive() external payable {}

    // isValidSignature accepts the owner's 65-byte r‖s‖v signature of hash.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_N) return 0xffffffff;
        address signer = ecrecover(hash, v, r, s);
        return signer != address(0) && signer == owner ? ERC1271_MAGIC : bytes4(0xffffffff);
    }

    // execute lets the owner move what the wallet holds.
    function execute(address to, uint256 value, bytes calldata data) external returns (bytes memory) {
        require(msg.sender == owner, "TestWallet: not the owner");
        (bool ok, bytes memory out) = to.call{value: value}(data);
        require(ok, "TestWallet: call failed");
        return out;
    }
}

contract TestWalletFactory {
    // createAccount deploys the owner's wallet for salt, or returns it when it
    // exists already (so an ERC-6492 verifier may call it either way).
    function createAccount(address owner, uint256 salt) external returns (address) {
        address predicted = getAddress(owner, salt);
        if (predicted.code.length > 0) return predicted;
        return address(new TestWallet{salt: bytes32(salt)}(owner));
    }

    function getAddress(address owner, uint256 salt) public view returns (address) {
        bytes32 init = keccak256(abi.encodePacked(type(TestWallet).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), bytes32(salt), init)))));
    }
}
