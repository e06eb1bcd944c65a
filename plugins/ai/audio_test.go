package ai_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/agentbot/gateway/sdk/provider"
)

func TestTTS(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	audio := base64.StdEncoding.EncodeToString([]byte("ID3-fake-mp3"))
	tests := []struct {
		name     string
		input    string
		creds    map[string]string
		wantBody map[string]any // what /audio/speech receives
		wantKey  string
		wantCode string // a 400 VALIDATION_ERROR without calling the upstream
	}{
		{name: "defaults", input: `{"text":"Hello"}`, wantKey: "Bearer sk-platform-openai",
			wantBody: map[string]any{"model": "gpt-4o-mini-tts", "input": "Hello", "voice": "alloy", "response_format": "mp3"}},
		{name: "input alias and options", input: `{"input":"Hi","voice":"nova","format":"wav","model":"tts-1"}`,
			wantKey:  "Bearer sk-platform-openai",
			wantBody: map[string]any{"model": "tts-1", "input": "Hi", "voice": "nova", "response_format": "wav"}},
		{name: "own key", input: `{"text":"Hello"}`, creds: map[string]string{"openai": "sk-user-own"}, wantKey: "Bearer sk-user-own",
			wantBody: map[string]any{"model": "gpt-4o-mini-tts", "input": "Hello", "voice": "alloy", "response_format": "mp3"}},
		{name: "4096 characters", input: `{"text":"` + strings.Repeat("a", 4096) + `"}`, wantKey: "Bearer sk-platform-openai",
			wantBody: map[string]any{"model": "gpt-4o-mini-tts", "input": strings.Repeat("a", 4096), "voice": "alloy", "response_format": "mp3"}},
		{name: "4096 two-byte characters", input: `{"text":"` + strings.Repeat("é", 4096) + `"}`, wantKey: "Bearer sk-platform-openai",
			wantBody: map[string]any{"model": "gpt-4o-mini-tts", "input": strings.Repeat("é", 4096), "voice": "alloy", "response_format": "mp3"}},
		{name: "4097 characters", input: `{"text":"` + strings.Repeat("a", 4097) + `"}`, wantCode: "VALIDATION_ERROR"},
		{name: "4097 two-byte characters", input: `{"text":"` + strings.Repeat("é", 4097) + `"}`, wantCode: "VALIDATION_ERROR"},
		{name: "empty text", input: `{"text":""}`, wantCode: "VALIDATION_ERROR"},
		{name: "blank text", input: `{"text":" \n "}`, wantCode: "VALIDATION_ERROR"},
		{name: "no input", input: ``, wantCode: "VALIDATION_ERROR"},
		{name: "text not a string", input: `{"text":42}`, wantCode: "VALIDATION_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			resp := invoke(t, c, "tts", tt.input, provider.Caller{Credentials: tt.creds})
			if tt.wantCode != "" {
				checkErr(t, "tts("+tt.name+")", resp.Error, 400, tt.wantCode)
				if n := len(f.requests()); n != 0 {
					t.Errorf("tts(%q) made %d upstream requests; want 0", tt.name, n)
				}
				return
			}
			if resp.Error != nil {
				t.Fatalf("tts(%q) error = %s; want none", tt.name, errString(resp.Error))
			}
			want := map[string]any{"audio": audio, "contentType": "audio/mpeg", "bytes": float64(len("ID3-fake-mp3"))}
			if got := decode(t, "tts output", resp.Output); !equal(got, want) {
				t.Errorf("tts(%q) = %v; want %v", tt.name, got, want)
			}
			r := f.last(t)
			if r.Provider+r.Path != "openai/v1/audio/speech" || !equal(r.JSON, tt.wantBody) {
				t.Errorf("tts(%q) sent %s%s %v; want openai/v1/audio/speech %v", tt.name, r.Provider, r.Path, r.JSON, tt.wantBody)
			}
			if got := r.Header.Get("Authorization"); got != tt.wantKey {
				t.Errorf("tts(%q) sent Authorization %q; want %q", tt.name, got, tt.wantKey)
			}
		})
	}

	f.setRespond(upstreamError(429, map[string]string{"Retry-After": "3"}))
	resp := invoke(t, c, "tts", `{"text":"Hello"}`, provider.Caller{})
	checkErr(t, "tts with upstream 429", resp.Error, 429, "UPSTREAM_RATE_LIMITED")
}

func TestSTT(t *testing.T) {
	f := newFakeUpstream(t)
	c := serveAI(t, f, nil)
	mp3 := []byte("ID3\x04\x00\x00\x00\x00\x00\x00fake-mp3-frames")
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 32)...)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name       string
		input      string
		creds      map[string]string
		wantFile   []byte
		wantName   string
		wantFields map[string]string
		wantKey    string
		wantCode   string // a 400 error without calling the upstream
	}{
		{name: "mp3", input: `{"audio":"` + b64(mp3) + `"}`, wantFile: mp3, wantName: "audio.mp3",
			wantFields: map[string]string{"model": "whisper-1", "response_format": "json"}, wantKey: "Bearer sk-platform-openai"},
		{name: "wav is labelled wav", input: `{"audio":"` + b64(wav) + `"}`, wantFile: wav, wantName: "audio.wav",
			wantFields: map[string]string{"model": "whisper-1", "response_format": "json"}, wantKey: "Bearer sk-platform-openai"},
		{name: "options", input: `{"audio":"` + b64(mp3) + `","filename":"memo.m4a","language":"en","model":"gpt-4o-transcribe"}`,
			wantFile: mp3, wantName: "memo.m4a", creds: map[string]string{"openai": "sk-user-own"},
			wantFields: map[string]string{"model": "gpt-4o-transcribe", "language": "en", "response_format": "json"},
			wantKey:    "Bearer sk-user-own"},
		{name: "bad base64", input: `{"audio":"not base64!!"}`, wantCode: "VALIDATION_ERROR"},
		{name: "empty audio", input: `{"audio":""}`, wantCode: "VALIDATION_ERROR"},
		{name: "no audio", input: `{}`, wantCode: "VALIDATION_ERROR"},
		{name: "no input", input: ``, wantCode: "VALIDATION_ERROR"},
		{name: "audio not a string", input: `{"audio":[1,2]}`, wantCode: "VALIDATION_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			resp := invoke(t, c, "stt", tt.input, provider.Caller{Credentials: tt.creds})
			if tt.wantCode != "" {
				checkErr(t, "stt("+tt.name+")", resp.Error, 400, tt.wantCode)
				if n := len(f.requests()); n != 0 {
					t.Errorf("stt(%q) made %d upstream requests; want 0", tt.name, n)
				}
				return
			}
			if resp.Error != nil {
				t.Fatalf("stt(%q) error = %s; want none", tt.name, errString(resp.Error))
			}
			if got, want := decode(t, "stt output", resp.Output), map[string]any{"text": "hello world"}; !equal(got, want) {
				t.Errorf("stt(%q) = %v; want %v", tt.name, got, want)
			}
			r := f.last(t)
			if r.Provider+r.Path != "openai/v1/audio/transcriptions" || r.Header.Get("Authorization") != tt.wantKey {
				t.Errorf("stt(%q) called %s%s with %q; want openai/v1/audio/transcriptions with %q",
					tt.name, r.Provider, r.Path, r.Header.Get("Authorization"), tt.wantKey)
			}
			name, file, fields := parseForm(t, r)
			if name != tt.wantName || !bytes.Equal(file, tt.wantFile) || !equal(fields, tt.wantFields) {
				t.Errorf("stt(%q) uploaded %q (%d bytes) with %v; want %q (%d bytes) with %v",
					tt.name, name, len(file), fields, tt.wantName, len(tt.wantFile), tt.wantFields)
			}
		})
	}

	f.setRespond(upstreamError(401, nil))
	resp := invoke(t, c, "stt", `{"audio":"`+b64(mp3)+`"}`, provider.Caller{})
	checkErr(t, "stt with upstream 401", resp.Error, 502, "UPSTREAM_AUTH")
}

// parseForm reads a multipart upload: the file part's name and bytes, and the other fields.
func parseForm(t *testing.T, r upstreamReq) (string, []byte, map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("upload Content-Type = %q; want multipart/form-data", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(r.Raw), params["boundary"])
	var name string
	var file []byte
	fields := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the upload: %v", err)
		}
		b, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			name, file = p.FileName(), b
		} else {
			fields[p.FormName()] = string(b)
		}
	}
	return name, file, fields
}
