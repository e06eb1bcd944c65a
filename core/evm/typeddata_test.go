package evm_test

import (
	"encoding/hex"
	"testing"

	"github.com/agentbot/gateway/core/evm"
)

// mail is the example of the EIP-712 specification, with its digest and the
// signature by the key keccak256("cow") that the specification gives.
const mail = `{
  "types": {
    "EIP712Domain": [{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
    "Person": [{"name":"name","type":"string"},{"name":"wallet","type":"address"}],
    "Mail": [{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]
  },
  "primaryType": "Mail",
  "domain": {"name":"Ether Mail","version":"1","chainId":1,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},"to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},"contents":"Hello, Bob!"}
}`

func TestTypedDataSpecVector(t *testing.T) {
	td, err := evm.ParseTypedData([]byte(mail))
	if err != nil {
		t.Fatal(err)
	}
	d, err := td.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(d[:]), "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"; got != want {
		t.Fatalf("Digest = %s; want %s", got, want)
	}
	cow := evm.Keccak256([]byte("cow"))
	key, err := evm.PrivateKeyFromBytes(cow[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := key.Sign(d)
	want := "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d" +
		"07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562" + "1c"
	if got := hex.EncodeToString(sig); got != want {
		t.Errorf("Sign = %s; want %s", got, want)
	}
	// Without EIP712Domain in types it is derived from the domain's fields.
	delete(td.Types, "EIP712Domain")
	if d2, err := td.Digest(); err != nil || d2 != d {
		t.Errorf("Digest without EIP712Domain = %x, %v; want %x", d2, err, d)
	}
}

func TestTypedDataRejects(t *testing.T) {
	for _, in := range []string{
		`{"types":{"A":[{"name":"x","type":"uint8"}]},"primaryType":"A","domain":{},"message":{"x":256}}`,
		`{"types":{"A":[{"name":"x","type":"int8"}]},"primaryType":"A","domain":{},"message":{"x":-129}}`,
		`{"types":{"A":[{"name":"x","type":"address"}]},"primaryType":"A","domain":{},"message":{"x":"0x12"}}`,
		`{"types":{"A":[{"name":"x","type":"bytes4"}]},"primaryType":"A","domain":{},"message":{"x":"0x1234"}}`,
		`{"types":{"A":[{"name":"x","type":"uint256[2]"}]},"primaryType":"A","domain":{},"message":{"x":[1]}}`,
		`{"types":{"A":[{"name":"x","type":"float"}]},"primaryType":"A","domain":{},"message":{"x":1}}`,
		`{"types":{"A":[{"name":"x","type":"A"}]},"primaryType":"A","domain":{},"message":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{}}}}}}}}}}}}}}}}}}}}`,
		`{"types":{},"primaryType":"B","domain":{},"message":{}}`,
	} {
		td, err := evm.ParseTypedData([]byte(in))
		if err != nil {
			continue
		}
		if _, err := td.Digest(); err == nil {
			t.Errorf("Digest(%s) = nil error; want one", in)
		}
	}
	td, _ := evm.ParseTypedData([]byte(`{"types":{"A":[{"name":"x","type":"int8"},{"name":"y","type":"bytes"},{"name":"z","type":"bool[]"}]},"primaryType":"A","domain":{"chainId":"0x2105"},"message":{"x":-128,"y":"0x","z":[true,false]}}`))
	if _, err := td.Digest(); err != nil {
		t.Errorf("Digest(valid) = %v", err)
	}
}

// FuzzTypedData: any input is a digest or an error, never a panic or a hang.
func FuzzTypedData(f *testing.F) {
	f.Add([]byte(mail))
	f.Add([]byte(`{"types":{"A":[{"name":"x","type":"A[]"}]},"primaryType":"A","domain":{},"message":{"x":[{"x":[]}]}}`))
	f.Add([]byte(`{"types":{"A":[{"name":"x","type":"int256"}]},"primaryType":"A","domain":{"salt":"0x00"},"message":{"x":"-0x1"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := evm.ParseTypedData(b)
		if err != nil {
			return
		}
		_, _ = td.Digest()
	})
}
