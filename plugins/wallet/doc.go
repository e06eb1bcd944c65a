// Package wallet is the wallet provider plugin: an Ethereum account per
// owner (a user, or one of a user's agents) that the gateway's callers use
// through four gateway ids — "wallet-address", "wallet-balance",
// "wallet-transfer" (USDC, ERC-20 transfer) and "wallet-sign" (EIP-191
// messages and EIP-712 typed data).
//
// The plugin is stateless. With the "local" backend it generates a secp256k1
// key, seals it with AES-256-GCM under the key the host hands it in its
// configuration (bound to the owner as additional data, so a sealed key moved
// to another owner does not open) and returns the sealed key for the host to
// store in its database. The host passes it back with every call; the plugin
// opens it for the call and forgets it. Key material never leaves the plugin
// in the clear. Any number of gateway nodes can run it.
//
// The host, not the caller, builds each call's input (Envelope): the owner,
// the sealed key and the caller's request. Spend caps and idempotency live in
// the host's database, where they hold across nodes; the plugin signs and
// sends what the host let through.
//
// With the "cdp" backend, Coinbase Developer Platform holds the keys: the
// plugin creates one account per owner through CDP's v2 REST API (its own
// small client, cdp.go) and what it seals is the account's address.
//
// Configuration (Config): {"backend": "local", "sealKey": "<64 hex>",
// "rpcUrl": "...", "chainId": 8453, "usdc": "0x…", "network": "base"}, plus
// "cdpApiUrl", "cdpApiKeyId", "cdpApiKeySecret" and "cdpWalletSecret" for
// "cdp".
package wallet
