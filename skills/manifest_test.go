package skills

import (
	"os"
	"strings"
	"testing"
)

func TestParseManifest(t *testing.T) {
	const base = `"name":"hello","version":"1.0.0","description":"Says hello","category":"tools"`
	long := strings.Repeat("é", 501)
	many := strings.Repeat(`"a",`, 64) + `"a"`
	for _, tc := range []struct {
		name, json string
		want       string // "" = valid; otherwise a word the error must contain (the field)
	}{
		{"minimal", `{` + base + `}`, ""},
		{"full", `{` + base + `,"icon":"👋","price":"0.01","actions":["hello","count_all","x-y"],"capabilities":["kv","http","log","config"],
			"http":{"hosts":["api.example.com","127.0.0.1"]},"limits":{"timeoutMs":500,"memoryMb":16,"maxOutputBytes":1000,"maxHostCalls":10},
			"config":{"k":"v"}}`, ""},
		{"prerelease version", `{"name":"hello","version":"1.2.3-beta.1+abc","description":"d","category":"tools"}`, ""},
		{"free price", `{` + base + `,"price":"0"}`, ""},
		{"fresh", `{` + base + `,"isolation":"fresh"}`, ""},
		{"pooled", `{` + base + `,"isolation":"pooled"}`, ""},
		{"isolation unknown", `{` + base + `,"isolation":"shared"}`, "isolation"},
		{"isolation not a string", `{` + base + `,"isolation":true}`, "isolation"},

		{"not json", `{"name":`, "JSON"},
		{"not an object", `[1]`, "JSON"},
		{"trailing data", `{` + base + `} x`, "JSON"},
		{"two objects", `{` + base + `}{}`, "JSON"},
		{"unknown field", `{` + base + `,"entry":"main"}`, "entry"},
		{"name missing", `{"version":"1.0.0","description":"d","category":"tools"}`, "name"},
		{"name too short", `{"name":"ab","version":"1.0.0","description":"d","category":"tools"}`, "name"},
		{"name upper case", `{"name":"Hello","version":"1.0.0","description":"d","category":"tools"}`, "name"},
		{"name ends with a dash", `{"name":"hello-","version":"1.0.0","description":"d","category":"tools"}`, "name"},
		{"name with a colon", `{"name":"a:bc","version":"1.0.0","description":"d","category":"tools"}`, "name"},
		{"name too long", `{"name":"` + strings.Repeat("a", 65) + `","version":"1.0.0","description":"d","category":"tools"}`, "name"},
		{"version not semantic", `{"name":"hello","version":"1.0","description":"d","category":"tools"}`, "version"},
		{"version leading zero", `{"name":"hello","version":"01.0.0","description":"d","category":"tools"}`, "version"},
		{"version with v", `{"name":"hello","version":"v1.0.0","description":"d","category":"tools"}`, "version"},
		{"description missing", `{"name":"hello","version":"1.0.0","category":"tools"}`, "description"},
		{"description blank", `{"name":"hello","version":"1.0.0","description":"  ","category":"tools"}`, "description"},
		{"description too long", `{"name":"hello","version":"1.0.0","description":"` + long + `","category":"tools"}`, "description"},
		{"category missing", `{"name":"hello","version":"1.0.0","description":"d"}`, "category"},
		{"category upper case", `{"name":"hello","version":"1.0.0","description":"d","category":"Tools"}`, "category"},
		{"icon too long", `{` + base + `,"icon":"` + strings.Repeat("x", 17) + `"}`, "icon"},
		{"bad action", `{` + base + `,"actions":["Hello"]}`, "action"},
		{"too many actions", `{` + base + `,"actions":[` + many + `]}`, "actions"},
		{"unknown capability", `{` + base + `,"capabilities":["fs"]}`, "capability"},
		{"hosts without http", `{` + base + `,"http":{"hosts":["a.example"]}}`, "http"},
		{"http without hosts", `{` + base + `,"capabilities":["http"]}`, "http"},
		{"host with scheme", `{` + base + `,"capabilities":["http"],"http":{"hosts":["https://a.example"]}}`, "host"},
		{"host with port", `{` + base + `,"capabilities":["http"],"http":{"hosts":["a.example:8080"]}}`, "host"},
		{"host with path", `{` + base + `,"capabilities":["http"],"http":{"hosts":["a.example/x"]}}`, "host"},
		{"host with credentials", `{` + base + `,"capabilities":["http"],"http":{"hosts":["u@a.example"]}}`, "host"},
		{"host upper case", `{` + base + `,"capabilities":["http"],"http":{"hosts":["A.example"]}}`, "host"},
		{"host empty label", `{` + base + `,"capabilities":["http"],"http":{"hosts":["a..example"]}}`, "host"},
		{"negative timeout", `{` + base + `,"limits":{"timeoutMs":-1}}`, "limits"},
		{"negative output", `{` + base + `,"limits":{"maxOutputBytes":-1}}`, "limits"},
		{"price not a number", `{` + base + `,"price":"cheap"}`, "price"},
		{"price negative", `{` + base + `,"price":"-1"}`, "price"},
		{"price over 100", `{` + base + `,"price":"100.01"}`, "price"},
		{"too much config", `{` + base + `,"config":{` + manyConfig(65) + `}}`, "config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.json))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ParseManifest = %v; want it valid", err)
			case tc.want != "" && err == nil:
				t.Errorf("ParseManifest = %+v; want an error naming %q", m, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("ParseManifest error %q does not name %q", err, tc.want)
			}
		})
	}

	m, err := ParseManifest([]byte(`{` + base + `,"price":"0.01","capabilities":["kv"]}`))
	if err != nil || m.PriceMicroUSD() != 10_000 || !m.Has("kv") || m.Has("http") {
		t.Errorf("manifest = %+v, %v; want price 10000 micro-USD and only kv", m, err)
	}
}

func manyConfig(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":"v"`)
	}
	return b.String()
}

// The examples authors copy must stay valid manifests.
func TestExampleManifest(t *testing.T) {
	for _, ex := range []struct{ dir, name string }{{"skill-hello", "hello"}, {"skill-hello-as", "hello-as"}} {
		b, err := os.ReadFile("../examples/" + ex.dir + "/manifest.json")
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseManifest(b)
		if err != nil {
			t.Fatalf("examples/%s: %v", ex.dir, err)
		}
		if m.Name != ex.name || !m.Has("kv") || len(m.Actions) != 2 {
			t.Errorf("examples/%s manifest = %+v", ex.dir, m)
		}
	}
}
