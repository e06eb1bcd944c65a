package wallet_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/agentbot/gateway/plugins/wallet"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/provider/providertest"
)

// fakeCDP is a stand-in for CDP's v2 API that refuses any request whose
// Bearer JWT, X-Wallet-Auth JWT or idempotency key is not as CDP wants them.
type fakeCDP struct {
	t         *testing.T
	keyID     string
	apiPub    any // ed25519.PublicKey or *ecdsa.PublicKey
	walletPub *ecdsa.PublicKey
	mu        sync.Mutex
	accounts  map[string]string // name → address
	idem      []string
	hashes    map[string]string // path → reqHash seen
}

func b64d(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Errorf("JWT segment %q: %v", s, err)
	}
	return b
}

// verifyJWT checks the signature with pub and returns header and claims.
func verifyJWT(t *testing.T, tok string, pub any) (map[string]any, map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, false
	}
	var h, c map[string]any
	if json.Unmarshal(b64d(t, parts[0]), &h) != nil || json.Unmarshal(b64d(t, parts[1]), &c) != nil {
		return nil, nil, false
	}
	sig, in := b64d(t, parts[2]), []byte(parts[0]+"."+parts[1])
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return h, c, h["alg"] == "EdDSA" && ed25519.Verify(k, in, sig)
	case *ecdsa.PublicKey:
		d := sha256.Sum256(in)
		ok := len(sig) == 64 && ecdsa.Verify(k, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		return h, c, h["alg"] == "ES256" && ok
	}
	return nil, nil, false
}

func (f *fakeCDP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	fail := func(status int, typ, msg string) {
		t.Errorf("%s %s: %s", r.Method, r.URL.Path, msg)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errorType":%q,"errorMessage":%q}`, typ, msg)
	}
	uri := r.Method + " " + r.Host + r.URL.Path
	h, c, ok := verifyJWT(t, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), f.apiPub)
	if !ok {
		fail(401, "unauthorized", "bad Bearer JWT")
		return
	}
	if h["kid"] != f.keyID || h["typ"] != "JWT" || len(fmt.Sprint(h["nonce"])) != 32 || c["sub"] != f.keyID || c["iss"] != "cdp" {
		fail(401, "unauthorized", fmt.Sprintf("Bearer JWT header %v claims %v", h, c))
		return
	}
	if exp, nbf := c["exp"].(float64), c["nbf"].(float64); exp-nbf != 120 {
		fail(401, "unauthorized", "Bearer JWT does not last 120 s")
		return
	}
	if uris, _ := c["uris"].([]any); len(uris) != 1 || uris[0] != uri {
		fail(401, "unauthorized", fmt.Sprintf("Bearer uris %v; want [%s]", c["uris"], uri))
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/platform/v2/evm/accounts") {
		wh, wc, ok := verifyJWT(t, r.Header.Get("X-Wallet-Auth"), f.walletPub)
		if !ok || wh["typ"] != "JWT" || wc["exp"] != nil || len(fmt.Sprint(wc["jti"])) != 32 {
			fail(401, "unauthorized", "Wallet authentication error.")
			return
		}
		if uris, _ := wc["uris"].([]any); len(uris) != 1 || uris[0] != uri {
			fail(401, "unauthorized", "X-Wallet-Auth uris")
			return
		}
		f.mu.Lock()
		f.hashes[r.URL.Path] = fmt.Sprint(wc["reqHash"])
		f.mu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/platform")
	switch {
	case path == "/v2/evm/accounts" && r.Method == http.MethodPost:
		var in struct{ Name string }
		_ = json.Unmarshal(body, &in)
		if _, dup := f.accounts[in.Name]; dup {
			w.WriteHeader(409)
			io.WriteString(w, `{"errorType":"already_exists","errorMessage":"EVM account with the given name already exists."}`)
			return
		}
		f.accounts[in.Name] = fmt.Sprintf("0x%040x", len(f.accounts)+0xabc)
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"address":%q,"name":%q}`, f.accounts[in.Name], in.Name)
	case strings.HasPrefix(path, "/v2/evm/accounts/by-name/") && r.Method == http.MethodGet:
		name := strings.TrimPrefix(path, "/v2/evm/accounts/by-name/")
		fmt.Fprintf(w, `{"address":%q,"name":%q}`, f.accounts[name], name)
	case strings.HasSuffix(path, "/sign/message"), strings.HasSuffix(path, "/sign/typed-data"):
		fmt.Fprintf(w, `{"signature":"0x%0130x"}`, 7)
	case strings.HasSuffix(path, "/send/transaction"):
		key := r.Header.Get("X-Idempotency-Key")
		var in struct{ Network, Transaction string }
		_ = json.Unmarshal(body, &in)
		if len(key) != 36 || in.Network != "base-sepolia" || !strings.HasPrefix(in.Transaction, "0x02") ||
			!strings.Contains(in.Transaction, "a9059cbb") {
			fail(400, "invalid_request", fmt.Sprintf("send: key %q body %s", key, body))
			return
		}
		f.idem = append(f.idem, key)
		fmt.Fprintf(w, `{"transactionHash":"0x%064x"}`, len(f.idem))
	default:
		fail(404, "not_found", "unexpected request")
	}
}

func TestCDPBackend(t *testing.T) {
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	walletKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	walletDER, _ := x509.MarshalPKCS8PrivateKey(walletKey)
	for _, tc := range []struct {
		name, secret string
		pub          any
	}{
		{"EdDSA", base64.StdEncoding.EncodeToString(edKey), edPub},
		{"ES256", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})), &ecKey.PublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCDP{t: t, keyID: "organizations/o/apiKeys/k", apiPub: tc.pub, walletPub: &walletKey.PublicKey,
				accounts: map[string]string{}, hashes: map[string]string{}}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := serve(t, wallet.Config{SealKey: sealKey, Backend: "cdp", Network: "base-sepolia", ChainID: 84532,
				CDPAPIURL: srv.URL + "/platform", CDPAPIKeyID: f.keyID, CDPAPIKeySecret: tc.secret,
				CDPWalletSecret: base64.StdEncoding.EncodeToString(walletDER)})

			var made wallet.AddressOutput
			if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_1"}, &made); e != nil {
				t.Fatal(e)
			}
			if !made.Created || made.Backend != "cdp" || !strings.EqualFold(made.Address, "0x0000000000000000000000000000000000000abc") {
				t.Fatalf("wallet-address = %+v; want the new CDP account", made)
			}
			// Made again (say, the host lost the answer): CDP's 409, then by name.
			var again wallet.AddressOutput
			if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_1"}, &again); e != nil || again.Address != made.Address {
				t.Fatalf("second creation = %+v, %v; want %s", again, e, made.Address)
			}
			env := wallet.Envelope{Owner: "usr_1", SealedKey: made.SealedKey}
			if e := call(t, c, wallet.CapAddress, wallet.Envelope{Owner: "usr_2", SealedKey: made.SealedKey}, &again); e == nil || e.Code != "WALLET_SEALED" {
				t.Errorf("another owner's record = %v; want WALLET_SEALED", e)
			}

			env.Request = json.RawMessage(`{"to":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","amount":"250000","idempotencyKey":"k1"}`)
			var tr wallet.TransferOutput
			if e := call(t, c, wallet.CapTransfer, env, &tr); e != nil {
				t.Fatal(e)
			}
			call(t, c, wallet.CapTransfer, env, &tr)
			if len(f.idem) != 2 || f.idem[0] != f.idem[1] {
				t.Errorf("idempotency keys %v; want the same one twice", f.idem)
			}

			// reqHash is the SHA-256 of the body with its keys sorted at every
			// level, without HTML escaping.
			env.Request = json.RawMessage(`{"typedData":{"types":{"M":[{"type":"string","name":"s"}]},"primaryType":"M","domain":{"name":"<x>","chainId":8453},"message":{"s":"a&b"}}}`)
			var sig wallet.SignOutput
			if e := call(t, c, wallet.CapSign, env, &sig); e != nil {
				t.Fatal(e)
			}
			want := sha256.Sum256([]byte(`{"domain":{"chainId":8453,"name":"<x>"},"message":{"s":"a&b"},"primaryType":"M","types":{"M":[{"name":"s","type":"string"}]}}`))
			if got := f.hashes["/platform/v2/evm/accounts/"+made.Address+"/sign/typed-data"]; got != hex.EncodeToString(want[:]) {
				t.Errorf("typed-data reqHash = %s; want %x", got, want)
			}
			env.Request = json.RawMessage(`{"message":"hello"}`)
			if e := call(t, c, wallet.CapSign, env, &sig); e != nil || sig.Address != made.Address {
				t.Errorf("wallet-sign message = %+v, %v", sig, e)
			}
		})
	}
}

func TestCDPConfig(t *testing.T) {
	c := providertest.Serve(t, wallet.New())
	for _, cfg := range []string{
		`{"sealKey":"` + sealKey + `","backend":"cdp"}`,
		`{"sealKey":"` + sealKey + `","backend":"cdp","cdpApiKeyId":"k","cdpApiKeySecret":"nope","cdpWalletSecret":"nope"}`,
	} {
		resp, err := c.Configure(context.Background(), &provider.ConfigureRequest{Config: json.RawMessage(cfg)})
		if err != nil || resp.Error == nil {
			t.Errorf("Configure(%s) = %v, %v; want INVALID_CONFIG", cfg, resp, err)
		}
	}
}
