package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/ratelimit/ratelimittest"
	"github.com/agentbot/gateway/core/server/servertest"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/core/store/storetest"
	"github.com/agentbot/gateway/plugins/plugintest"
)

// twoNodes starts two gateway nodes, as separate processes, on one fresh
// PostgreSQL database and the test Redis.
func twoNodes(t *testing.T, vars map[string]string) (a, b *node, pg storetest.PG, st *store.Store) {
	t.Helper()
	pg = storetest.Postgres(t)
	env := map[string]string{"DATABASE_URL": pg.Serving, "DATABASE_MIGRATE_URL": pg.Owner,
		"REDIS_URL":           ratelimittest.RedisURL(t),
		"AGENTBOT_MASTER_KEY": strings.Repeat("cd", 32), "JWT_SECRET": strings.Repeat("k", 40),
		"AGENTBOT_PLUGINS": writePlugins(t, "[]"), "AGENTBOT_HEARTBEATS": "false", "AGENTBOT_CHANNELS": "false"}
	for k, v := range vars {
		env[k] = v
	}
	a, b = startNode(t, env), startNode(t, env)
	return a, b, pg, storetest.Open(t, pg.Config())
}

func writePlugins(t *testing.T, specs string) string {
	t.Helper()
	file := t.TempDir() + "/plugins.json"
	if err := writeFile(file, specs); err != nil {
		t.Fatal(err)
	}
	return file
}

// nodeUser signs up on n and returns a client holding an API key.
func nodeUser(t *testing.T, n *node, email string) (*servertest.Client, string) {
	t.Helper()
	c := (&servertest.Env{URL: n.URL}).Client(t)
	uid, csrf := c.SignUpUnverified(email, "password-"+email)
	key := c.Do("POST", "/api/keys", map[string]any{"name": "k"}, "X-CSRF-Token", csrf).Expect(t, 201, "").Str("key")
	kc := (&servertest.Env{URL: n.URL}).Client(t)
	kc.Header.Set("Authorization", "Bearer "+key)
	return kc, uid
}

// The fault suite (`make test-faults`): two nodes share one PostgreSQL and
// one Redis, and what one node decides holds on the other.
func TestFaultsTwoNodes(t *testing.T) {
	tpPath, tpSum := plugintest.Build(t, testPkg)
	plugins := writePlugins(t, fmt.Sprintf(`[{"name": "test", "path": %q, "sha256": %q}]`, tpPath, tpSum))
	a, b, _, st := twoNodes(t, map[string]string{"AGENTBOT_KEY_CACHE_TTL": "1s", "AGENTBOT_BCRYPT_COST": "4",
		"AGENTBOT_PLUGINS": plugins, "PAY_TO_ADDRESS": payToAddr, "MPP_SECRET_KEY": strings.Repeat("faults-key-", 4),
		"AGENTBOT_GATEWAY_PRICES": "test-echo=0.05", "AGENTBOT_PUBLIC_URL": "http://gateway.test", "MPP_REALM": "gateway.test",
		"AGENTBOT_RATE_LIMITS": "default=100000-M,/api/register=100000-M,/api/agents=10-M"})

	t.Run("rate limits are global", func(t *testing.T) {
		ca, _ := nodeUser(t, a, "limits@example.com")
		cb := (&servertest.Env{URL: b.URL}).Client(t)
		cb.Header = ca.Header.Clone()
		statuses := map[int]int{}
		for i := range 14 {
			c := ca
			if i%2 == 1 {
				c = cb
			}
			statuses[c.Do("GET", "/api/agents", nil).Status]++
		}
		if statuses[200] != 10 || statuses[429] != 4 {
			t.Errorf("statuses across both nodes = %v; want 10 allowed and 4 refused (one budget of 10 a minute)", statuses)
		}
	})

	t.Run("a key deleted on one node is refused on the other within the cache time", func(t *testing.T) {
		ca, _ := nodeUser(t, a, "keys@example.com")
		cb := (&servertest.Env{URL: b.URL}).Client(t)
		cb.Header = ca.Header.Clone()
		cb.Do("GET", "/api/keys", nil).Expect(t, 200, "") // B has now cached the key
		list := ca.Do("GET", "/api/keys", nil).Expect(t, 200, "").JSON["keys"].([]any)
		id := list[0].(map[string]any)["id"].(string)
		ca.Do("DELETE", "/api/keys/"+id, nil).Expect(t, 200, "")
		deleted := time.Now()
		ca.Do("GET", "/api/keys", nil).Expect(t, 401, "")
		for cb.Do("GET", "/api/keys", nil).Status != 401 {
			if time.Since(deleted) > 3*time.Second {
				t.Fatal("node B still accepts the deleted key 3s later; the cache time is 1s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("an MPP credential paid on one node is refused on the other", func(t *testing.T) {
		dir, err := filepath.Abs("js")
		if err != nil {
			t.Fatal(err)
		}
		requireNode(t, dir, "mppx")
		pay := func(n *node, cred, msg string) *servertest.Response {
			return (&servertest.Env{URL: n.URL}).Client(t).Do("POST", "/api/v1/gateway", map[string]any{"message": msg},
				"X-Plugin-Id", "test-echo", "Authorization", cred)
		}
		// Either node takes a credential made against the other's challenge
		// (they share the challenge secret and realm) ...
		fresh := payNode(t, dir, "mpp-sign", a.URL+"/api/v1/gateway", "test-echo")["credential"].(string)
		if r := pay(b, fresh, "made on A, paid on B"); r.Status != 200 || r.Header.Get("Payment-Receipt") == "" {
			t.Fatalf("a credential for A's challenge on B = %d %s; want it paid", r.Status, r.Body)
		}
		// ... and each is spent once across both.
		cred := payNode(t, dir, "mpp-sign", a.URL+"/api/v1/gateway", "test-echo")["credential"].(string)
		pay(a, cred, "paid on A").Expect(t, 200, "")
		if r := pay(b, cred, "replayed on B"); r.Status != 402 || problemType(r) != "verification-failed" {
			t.Errorf("replay on B = %d %s; want 402 verification-failed", r.Status, r.Body)
		}
	})

	t.Run("SIGKILL under load loses no acknowledged write", func(t *testing.T) {
		var (
			mu    sync.Mutex
			users = map[string]string{} // email → id, for every 2xx'd registration
			keys  = map[string]string{} // key id → user id, for every 2xx'd key
			stop  atomic.Bool
			wg    sync.WaitGroup
		)
		hc := &http.Client{Timeout: 5 * time.Second}
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					email := fmt.Sprintf("load-%d-%d@example.com", w, i)
					id, key, keyID := registerWithKey(hc, a.URL, email)
					mu.Lock()
					if id != "" {
						users[email] = id
					}
					if keyID != "" {
						keys[keyID] = id
					}
					mu.Unlock()
					_ = key
				}
			}()
		}
		waitFor(t, 20*time.Second, "some acknowledged writes", func() bool { mu.Lock(); defer mu.Unlock(); return len(keys) >= 50 })
		a.Kill()
		stop.Store(true)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		ctx := context.Background()
		for email, id := range users {
			u, err := st.User(ctx, id)
			if err != nil || !strings.EqualFold(u.Email, email) {
				t.Errorf("acknowledged registration %s (%s) = %v, %v after the kill", email, id, u, err)
			}
		}
		for keyID, uid := range keys {
			if _, err := st.APIKey(ctx, uid, keyID); err != nil {
				t.Errorf("acknowledged key %s of %s: %v after the kill", keyID, uid, err)
			}
		}
		t.Logf("%d registrations and %d keys acknowledged before the kill; all present", len(users), len(keys))
		// The survivor serves on.
		c, _ := nodeUser(t, b, "after@example.com")
		c.Do("GET", "/api/keys", nil).Expect(t, 200, "")
	})
}

// registerWithKey registers, signs in and creates a key on base; it returns
// what was acknowledged (empty strings for what was not).
func registerWithKey(hc *http.Client, base, email string) (userID, key, keyID string) {
	var reg struct {
		ID string `json:"id"`
	}
	if postJSON(hc, base+"/api/register", map[string]any{"email": email, "password": "password-" + email}, nil, &reg) != 200 {
		return "", "", ""
	}
	userID = reg.ID
	var login struct {
		CSRF string `json:"csrfToken"`
	}
	jar := &cookieJar{}
	if postJSON(hc, base+"/api/auth/login", map[string]any{"email": email, "password": "password-" + email}, jar, &login) != 200 {
		return userID, "", ""
	}
	var k struct {
		Key string `json:"key"`
		ID  string `json:"id"`
	}
	jar.csrf = login.CSRF
	if postJSON(hc, base+"/api/keys", map[string]any{"name": "k"}, jar, &k) != 201 {
		return userID, "", ""
	}
	return userID, k.Key, k.ID
}

// cookieJar keeps the session cookie of one sign-in and sends its CSRF token.
type cookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
	csrf    string
}

func (j *cookieJar) apply(req *http.Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range j.cookies {
		req.AddCookie(c)
	}
	if j.csrf != "" {
		req.Header.Set("X-CSRF-Token", j.csrf)
	}
}

// postJSON posts body as JSON and decodes a 2xx answer into out; it returns
// the status (0 when the request failed).
func postJSON(hc *http.Client, url string, body any, jar *cookieJar, out any) int {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "faults-test")
	if jar != nil {
		jar.apply(req)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if jar != nil {
		jar.mu.Lock()
		jar.cookies = append(jar.cookies, resp.Cookies()...)
		jar.mu.Unlock()
	}
	if resp.StatusCode/100 == 2 && json.NewDecoder(resp.Body).Decode(out) != nil {
		return 0 // a 2xx whose body was cut: not an acknowledgement we saw
	}
	return resp.StatusCode
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
