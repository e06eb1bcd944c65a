// Package eas reads attestations of the Ethereum Attestation Service (EAS)
// over JSON-RPC and judges them: getAttestation(uid) on an EAS contract (on
// Base and OP Mainnet a predeploy at 0x4200…0021), the attestation index of
// Coinbase Verifications (getAttestationUid(recipient, schema)), and the
// checks an attestation must pass before it verifies anything (Check).
package eas

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/agentbot/gateway/core/chain"
	"github.com/agentbot/gateway/core/evm"
)

// Caller runs read-only calls (chain.Client).
type Caller interface {
	CallContract(ctx context.Context, m chain.Msg, block string) ([]byte, error)
}

// Well-known addresses and schemas on Base mainnet (the defaults of the
// configuration; README.md, "Agent verification").
var (
	// BasePredeploy is EAS on Base and OP Mainnet.
	BasePredeploy = mustAddress("0x4200000000000000000000000000000000000021")
	// CoinbaseIndexer is Coinbase Verifications' attestation indexer on Base.
	CoinbaseIndexer = mustAddress("0x2c7eE1E5f416dfF40054c27A62f7B357C4E8619C")
	// CoinbaseAttester attests Coinbase Verifications on Base.
	CoinbaseAttester = mustAddress("0x357458739F90461b99789350868CD7CF330Dd7EE")
	// VerifiedAccountSchema is Coinbase's "Verified Account" schema (data: a
	// bool, always true).
	VerifiedAccountSchema = mustBytes32("0xf8b05c79f090979bf4a80270aba232dff11a10d9ca55c4f88de95317970f0de9")
)

func mustAddress(s string) evm.Address {
	a, err := evm.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

func mustBytes32(s string) [32]byte {
	b, err := evm.ParseBytes32(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Attestation is EAS's Attestation struct (contracts/Common.sol).
type Attestation struct {
	UID            [32]byte
	Schema         [32]byte
	Time           uint64
	ExpirationTime uint64 // 0: never expires
	RevocationTime uint64 // 0: not revoked
	RefUID         [32]byte
	Recipient      evm.Address
	Attester       evm.Address
	Revocable      bool
	Data           []byte
}

// ErrMalformed wraps chain.ErrUnavailable: the contract's answer is not what
// an EAS contract answers (a wrong address configured, say). It is the
// operator's problem, not the caller's.
var ErrMalformed = fmt.Errorf("%w: not an EAS answer", chain.ErrUnavailable)

// Get reads the attestation uid from the EAS contract at easAddr. An unknown
// uid gives an attestation whose UID is zero (EAS does not revert).
func Get(ctx context.Context, c Caller, easAddr evm.Address, uid [32]byte) (*Attestation, error) {
	data, err := evm.EncodeCall("getAttestation(bytes32)", uid)
	if err != nil {
		return nil, err
	}
	out, err := c.CallContract(ctx, chain.Msg{To: &easAddr, Data: data}, chain.Latest)
	if err != nil {
		return nil, err
	}
	return decodeAttestation(out)
}

// decodeAttestation decodes the ABI encoding of one Attestation returned by
// a function: an offset to the tuple, then ten head words, data last.
func decodeAttestation(out []byte) (*Attestation, error) {
	off, ok := uintAt(out, 0)
	if !ok || off > uint64(len(out)) { // every length below is checked before it is added, so nothing wraps
		return nil, ErrMalformed
	}
	t := out[off:]
	if len(t) < 11*32 {
		return nil, ErrMalformed
	}
	w := func(i int) []byte { return t[32*i : 32*i+32] }
	var a Attestation
	copy(a.UID[:], w(0))
	copy(a.Schema[:], w(1))
	var ok1, ok2, ok3 bool
	a.Time, ok1 = uintAt(t, 2*32)
	a.ExpirationTime, ok2 = uintAt(t, 3*32)
	a.RevocationTime, ok3 = uintAt(t, 4*32)
	copy(a.RefUID[:], w(5))
	if !ok1 || !ok2 || !ok3 || !isAddress(w(6)) || !isAddress(w(7)) || !isBool(w(8)) {
		return nil, ErrMalformed
	}
	copy(a.Recipient[:], w(6)[12:])
	copy(a.Attester[:], w(7)[12:])
	a.Revocable = w(8)[31] == 1
	doff, ok := uintAt(t, 9*32)
	if !ok || doff > uint64(len(t)) || doff+32 > uint64(len(t)) {
		return nil, ErrMalformed
	}
	n, ok := uintAt(t, int(doff))
	if !ok || n > uint64(len(t)) || doff+32+n > uint64(len(t)) {
		return nil, ErrMalformed
	}
	a.Data = append([]byte(nil), t[doff+32:doff+32+n]...)
	return &a, nil
}

// IndexedUID asks Coinbase Verifications' indexer for the uid of recipient's
// attestation of schema; zero when there is none.
func IndexedUID(ctx context.Context, c Caller, indexer, recipient evm.Address, schema [32]byte) ([32]byte, error) {
	var uid [32]byte
	data, err := evm.EncodeCall("getAttestationUid(address,bytes32)", recipient, schema)
	if err != nil {
		return uid, err
	}
	out, err := c.CallContract(ctx, chain.Msg{To: &indexer, Data: data}, chain.Latest)
	if err != nil {
		return uid, err
	}
	if len(out) != 32 {
		return uid, fmt.Errorf("%w: the indexer answered %d bytes", chain.ErrUnavailable, len(out))
	}
	copy(uid[:], out)
	return uid, nil
}

// Policy is what an attestation must satisfy.
type Policy struct {
	// Schemas and Attesters are allow-lists; empty allows any.
	Schemas   [][32]byte
	Attesters []evm.Address
	// Recipient, when set, must be the attestation's recipient.
	Recipient *evm.Address
	// Now is compared with the expiration time.
	Now time.Time
}

// Reason says why an attestation fails a Policy.
type Reason string

// The reasons, in the order Check tests them.
const (
	NotFound           Reason = "not found"
	Revoked            Reason = "revoked"
	Expired            Reason = "expired"
	WrongRecipient     Reason = "wrong recipient"
	SchemaNotAllowed   Reason = "schema not allowed"
	AttesterNotAllowed Reason = "attester not allowed"
)

// CheckError is a failed Check.
type CheckError struct {
	Reason Reason
	Detail string
}

func (e *CheckError) Error() string { return "eas: attestation " + e.Detail }

// Check reports the first way a fails p, as a *CheckError: it must exist
// (non-zero uid, schema and attester), not be revoked, not be expired, be
// p.Recipient's when that is set, and have an allowed schema and attester.
func (a *Attestation) Check(p Policy) error {
	switch {
	case a.UID == [32]byte{} || a.Schema == [32]byte{} || a.Attester == evm.Address{}:
		return &CheckError{NotFound, "does not exist"}
	case a.RevocationTime != 0:
		return &CheckError{Revoked, fmt.Sprintf("was revoked at %s", unix(a.RevocationTime))}
	case a.ExpirationTime != 0 && !p.Now.Before(unix(a.ExpirationTime)):
		return &CheckError{Expired, fmt.Sprintf("expired at %s", unix(a.ExpirationTime))}
	case p.Recipient != nil && a.Recipient != *p.Recipient:
		return &CheckError{WrongRecipient, fmt.Sprintf("is for %s, not %s", a.Recipient.Hex(), p.Recipient.Hex())}
	case len(p.Schemas) > 0 && !contains(p.Schemas, a.Schema):
		return &CheckError{SchemaNotAllowed, fmt.Sprintf("has schema 0x%x, which is not accepted", a.Schema)}
	case len(p.Attesters) > 0 && !contains(p.Attesters, a.Attester):
		return &CheckError{AttesterNotAllowed, fmt.Sprintf("was made by %s, who is not an accepted attester", a.Attester.Hex())}
	}
	return nil
}

// IsCheckError reports whether err is a failed Check.
func IsCheckError(err error) bool {
	var ce *CheckError
	return errors.As(err, &ce)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func unix(s uint64) time.Time {
	if s > 1<<62 {
		return time.Unix(1<<62, 0).UTC()
	}
	return time.Unix(int64(s), 0).UTC()
}

// uintAt reads the word at off as a uint64 (false when it is out of range
// or larger).
func uintAt(b []byte, off int) (uint64, bool) {
	if off < 0 || off+32 > len(b) {
		return 0, false
	}
	for _, x := range b[off : off+24] {
		if x != 0 {
			return 0, false
		}
	}
	return binary.BigEndian.Uint64(b[off+24 : off+32]), true
}

func isAddress(w []byte) bool {
	for _, x := range w[:12] {
		if x != 0 {
			return false
		}
	}
	return true
}

func isBool(w []byte) bool {
	for _, x := range w[:31] {
		if x != 0 {
			return false
		}
	}
	return w[31] <= 1
}
