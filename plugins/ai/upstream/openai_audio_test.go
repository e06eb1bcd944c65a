package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/agentbot/gateway/plugins/ai/upstream"
)

func TestOpenAISpeech(t *testing.T) {
	tests := []struct {
		name     string
		req      upstream.SpeechRequest
		wantBody string
		respType string
		want     *upstream.SpeechResponse
	}{
		{
			name:     "defaults",
			req:      upstream.SpeechRequest{Input: "Hello"},
			wantBody: `{"model":"gpt-4o-mini-tts","input":"Hello","voice":"alloy","response_format":"mp3"}`,
			respType: "audio/mpeg",
			want:     &upstream.SpeechResponse{Audio: []byte("ID3\x04fake-mp3"), ContentType: "audio/mpeg"},
		},
		{
			name:     "explicit",
			req:      upstream.SpeechRequest{Model: "tts-1-hd", Input: "Hi", Voice: "nova", Format: "wav"},
			wantBody: `{"model":"tts-1-hd","input":"Hi","voice":"nova","response_format":"wav"}`,
			respType: "audio/wav",
			want:     &upstream.SpeechResponse{Audio: []byte("RIFF....WAVEfmt "), ContentType: "audio/wav"},
		},
		{
			name:     "no content type from server",
			req:      upstream.SpeechRequest{Input: "Hi", Format: "opus"},
			wantBody: `{"model":"gpt-4o-mini-tts","input":"Hi","voice":"alloy","response_format":"opus"}`,
			want:     &upstream.SpeechResponse{Audio: []byte("OggS"), ContentType: "audio/ogg"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
				w.Header()["Content-Type"] = []string{tt.respType}
				if tt.respType == "" {
					w.Header()["Content-Type"] = nil // stop net/http from sniffing one
				}
				w.Write(tt.want.Audio)
			})
			c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-test-key"}}
			got, err := c.Speech(context.Background(), tt.req)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Speech(%q) = %+v, %v; want %+v", tt.name, got, err, tt.want)
			}
			rec := received(t, reqs)
			if rec.Path != "/v1/audio/speech" {
				t.Errorf("Speech(%q) called %s; want /v1/audio/speech", tt.name, rec.Path)
			}
			checkJSON(t, "Speech("+tt.name+")", rec.JSON, tt.wantBody)
			checkHeaders(t, "Speech("+tt.name+")", rec.Header, map[string]string{"Authorization": "Bearer sk-test-key"})
		})
	}
}

// wav is the start of a RIFF/WAVE file, enough for content sniffing.
var wav = append([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"), make([]byte, 32)...)

func TestOpenAITranscribe(t *testing.T) {
	type form struct {
		Filename string
		Audio    []byte
		Fields   map[string][]string
	}
	tests := []struct {
		name string
		req  upstream.TranscribeRequest
		want form
	}{
		{
			name: "defaults, format sniffed",
			req:  upstream.TranscribeRequest{Audio: wav},
			want: form{Filename: "audio.wav", Audio: wav,
				Fields: map[string][]string{"model": {"whisper-1"}, "response_format": {"json"}}},
		},
		{
			name: "explicit",
			req:  upstream.TranscribeRequest{Model: "gpt-4o-transcribe", Audio: []byte("OggS-voice-note"), Filename: "note.ogg", Language: "en"},
			want: form{Filename: "note.ogg", Audio: []byte("OggS-voice-note"),
				Fields: map[string][]string{"model": {"gpt-4o-transcribe"}, "language": {"en"}, "response_format": {"json"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forms := make(chan form, 1)
			srv, reqs := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
				r.Body = io.NopCloser(bytes.NewReader(c.Raw))
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					writeJSON(w, 400, `{"error":{"message":"bad form","type":"invalid_request_error"}}`)
					return
				}
				var f form
				if fh := r.MultipartForm.File["file"]; len(fh) == 1 {
					f.Filename = fh[0].Filename
					file, _ := fh[0].Open()
					f.Audio, _ = io.ReadAll(file)
					file.Close()
				}
				f.Fields = r.MultipartForm.Value
				forms <- f
				writeJSON(w, 200, `{"text":"Hello world.","usage":{"type":"duration","seconds":2}}`)
			})
			c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-test-key"}}
			got, err := c.Transcribe(context.Background(), tt.req)
			if want := (&upstream.TranscribeResponse{Text: "Hello world."}); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Transcribe(%q) = %+v, %v; want %+v", tt.name, got, err, want)
			}
			rec := received(t, reqs)
			if rec.Path != "/v1/audio/transcriptions" {
				t.Errorf("Transcribe(%q) called %s; want /v1/audio/transcriptions", tt.name, rec.Path)
			}
			checkHeaders(t, "Transcribe("+tt.name+")", rec.Header, map[string]string{"Authorization": "Bearer sk-test-key"})
			select {
			case f := <-forms:
				if !reflect.DeepEqual(f, tt.want) {
					t.Errorf("Transcribe(%q) sent form %+v; want %+v", tt.name, f, tt.want)
				}
			default:
				t.Errorf("Transcribe(%q) sent no readable multipart form", tt.name)
			}
		})
	}
}

func TestOpenAIAudioErrors(t *testing.T) {
	srv, _ := fakeUpstream(t, func(w http.ResponseWriter, r *http.Request, c captured) {
		writeJSON(w, 400, `{"error":{"message":"Invalid file format.","type":"invalid_request_error","param":null,"code":null}}`)
	})
	c := &upstream.OpenAI{Endpoint: upstream.Endpoint{BaseURL: srv.URL + "/v1", APIKey: "sk-test-key"}}
	want := &upstream.Error{Status: 400, Message: "Invalid file format."}
	_, err := c.Transcribe(context.Background(), upstream.TranscribeRequest{Audio: []byte("junk")})
	var ue *upstream.Error
	if !errors.As(err, &ue) || !reflect.DeepEqual(ue, want) {
		t.Errorf("Transcribe(junk) = %v; want %v", err, want)
	}
	_, err = c.Speech(context.Background(), upstream.SpeechRequest{Input: "Hi"})
	if !errors.As(err, &ue) || !reflect.DeepEqual(ue, want) {
		t.Errorf("Speech(Hi) = %v; want %v", err, want)
	}
}
