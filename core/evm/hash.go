package evm

import "strconv"

// TextHash is the EIP-191 "personal_sign" digest of msg (version 0x45):
// keccak256("\x19Ethereum Signed Message:\n" ‖ decimal(len(msg)) ‖ msg). It is
// what a wallet signs for a sign-in message (EIP-4361) and what an ERC-1271
// wallet is asked to check.
func TextHash(msg []byte) [32]byte {
	return Keccak256([]byte("\x19Ethereum Signed Message:\n"+strconv.Itoa(len(msg))), msg)
}
