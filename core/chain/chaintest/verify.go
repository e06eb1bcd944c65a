package chaintest

import (
	"context"
	_ "embed"
	"encoding/hex"
	"math/big"
	"strings"

	"github.com/agentbot/gateway/core/evm"
)

// The contracts behind agent verification: the real EAS (contracts/
// EAS-NOTICE.md says where its code comes from) and toy stand-ins for ENS and
// Coinbase's attestation indexer (contracts/TestENS.sol, TestIndexer.sol).
var (
	//go:embed contracts/EAS.hex
	easHex string
	//go:embed contracts/SchemaRegistry.hex
	schemaRegistryHex string
	//go:embed contracts/TestENSRegistry.hex
	ensRegistryHex string
	//go:embed contracts/TestENSResolver.hex
	ensResolverHex string
	//go:embed contracts/TestIndexer.hex
	indexerHex string

	// EASCode deploys EAS(address schemaRegistry); SchemaRegistryCode its
	// registry (no arguments).
	EASCode            = mustHex(easHex)
	SchemaRegistryCode = mustHex(schemaRegistryHex)
	// ENSRegistryCode, ENSResolverCode and IndexerCode deploy the toys.
	ENSRegistryCode = mustHex(ensRegistryHex)
	ENSResolverCode = mustHex(ensResolverHex)
	IndexerCode     = mustHex(indexerHex)
)

// EAS is a deployed SchemaRegistry and EAS.
type EAS struct {
	Registry, Address evm.Address
	c                 *Chain
}

// DeployEAS deploys a SchemaRegistry and an EAS bound to it.
func (c *Chain) DeployEAS(from evm.Address) *EAS {
	c.t.Helper()
	reg := c.Deploy(from, SchemaRegistryCode)
	return &EAS{Registry: reg, Address: c.Deploy(from, EASCode, reg), c: c}
}

// RegisterSchema registers schema (no resolver) and returns its uid:
// keccak256(abi.encodePacked(schema, resolver, revocable)).
func (e *EAS) RegisterSchema(from evm.Address, schema string, revocable bool) [32]byte {
	e.c.t.Helper()
	e.c.Transact(from, e.Registry, "register(string,address,bool)", []byte(schema), evm.Address{}, revocable)
	rev := byte(0)
	if revocable {
		rev = 1
	}
	return evm.Keccak256([]byte(schema), make([]byte, 20), []byte{rev})
}

// Attest makes from attest data about recipient under schema, expiring at
// expiration (unix seconds; 0 never), and returns the attestation's uid
// (from the Attested event).
func (e *EAS) Attest(from evm.Address, schema [32]byte, recipient evm.Address, expiration uint64, revocable bool, data []byte) [32]byte {
	e.c.t.Helper()
	// attest((bytes32 schema, (address recipient, uint64 expirationTime,
	// bool revocable, bytes32 refUID, bytes data, uint256 value))): the
	// request is a dynamic tuple, so the call holds its offset, then the
	// schema and the offset of the inner tuple, then the inner tuple.
	inner, err := evm.EncodeArgs(recipient, expiration, revocable, [32]byte{}, data, big.NewInt(0))
	if err != nil {
		e.c.t.Fatal(err)
	}
	sel := evm.Selector("attest((bytes32,(address,uint64,bool,bytes32,bytes,uint256)))")
	call := append(sel[:], word(32)...)
	call = append(call, schema[:]...)
	call = append(call, word(64)...)
	call = append(call, inner...)
	r := e.c.Send(from, &e.Address, call, nil)
	var logs struct {
		Logs []struct {
			Address string   `json:"address"`
			Topics  []string `json:"topics"`
			Data    string   `json:"data"`
		} `json:"logs"`
	}
	if err := e.c.Client.Call(context.Background(), &logs, "eth_getTransactionReceipt",
		"0x"+hex.EncodeToString(r.TxHash[:])); err != nil {
		e.c.t.Fatal(err)
	}
	attested := evm.Keccak256([]byte("Attested(address,address,bytes32,bytes32)"))
	for _, l := range logs.Logs {
		if len(l.Topics) > 0 && strings.EqualFold(l.Topics[0], "0x"+hex.EncodeToString(attested[:])) {
			uid, err := evm.ParseBytes32(strings.ToLower(l.Data))
			if err != nil {
				e.c.t.Fatalf("Attested event data %q", l.Data)
			}
			return uid
		}
	}
	e.c.t.Fatal("attest: no Attested event")
	return [32]byte{}
}

// Revoke makes from (the attester) revoke the attestation uid of schema.
func (e *EAS) Revoke(from evm.Address, schema, uid [32]byte) {
	e.c.t.Helper()
	// revoke((bytes32 schema, (bytes32 uid, uint256 value))): all static,
	// so the words follow the selector in order.
	sel := evm.Selector("revoke((bytes32,(bytes32,uint256)))")
	call := append(sel[:], schema[:]...)
	call = append(call, uid[:]...)
	call = append(call, word(0)...)
	e.c.Send(from, &e.Address, call, nil)
}

// Timestamp is the latest block's time (unix seconds).
func (c *Chain) Timestamp() uint64 {
	c.t.Helper()
	var b struct {
		Timestamp string `json:"timestamp"`
	}
	if err := c.Client.Call(context.Background(), &b, "eth_getBlockByNumber", "latest", false); err != nil {
		c.t.Fatal(err)
	}
	n, ok := new(big.Int).SetString(strings.TrimPrefix(b.Timestamp, "0x"), 16)
	if !ok {
		c.t.Fatalf("block timestamp %q", b.Timestamp)
	}
	return n.Uint64()
}

func word(n uint64) []byte {
	w, _ := evm.EncodeArgs(n)
	return w
}

// ENS is a deployed toy registry and resolver (TestENS.sol).
type ENS struct {
	Registry, Resolver evm.Address
	c                  *Chain
}

// DeployENS deploys the toy registry and one resolver.
func (c *Chain) DeployENS(from evm.Address) *ENS {
	c.t.Helper()
	return &ENS{Registry: c.Deploy(from, ENSRegistryCode), Resolver: c.Deploy(from, ENSResolverCode), c: c}
}

// SetName points node's resolver at the toy resolver and sets its name
// record (for a reverse node).
func (e *ENS) SetName(from evm.Address, node [32]byte, name string) {
	e.c.t.Helper()
	e.c.Transact(from, e.Registry, "setResolver(bytes32,address)", node, e.Resolver)
	e.c.Transact(from, e.Resolver, "setName(bytes32,string)", node, []byte(name))
}

// SetAddr points node's resolver at the toy resolver and sets its addr
// record (for a forward node).
func (e *ENS) SetAddr(from evm.Address, node [32]byte, addr evm.Address) {
	e.c.t.Helper()
	e.c.Transact(from, e.Registry, "setResolver(bytes32,address)", node, e.Resolver)
	e.c.Transact(from, e.Resolver, "setAddr(bytes32,address)", node, addr)
}

// DeployIndexer deploys the toy attestation indexer (TestIndexer.sol).
func (c *Chain) DeployIndexer(from evm.Address) evm.Address {
	c.t.Helper()
	return c.Deploy(from, IndexerCode)
}
