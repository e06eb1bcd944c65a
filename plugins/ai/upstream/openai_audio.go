package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// SpeechRequest asks for text to be spoken. Empty fields take the defaults: model gpt-4o-mini-tts, voice
// alloy, format mp3.
type SpeechRequest struct {
	Model  string
	Input  string
	Voice  string
	Format string // mp3, opus, aac, flac, wav or pcm
}

// SpeechResponse is the synthesized audio.
type SpeechResponse struct {
	Audio       []byte
	ContentType string
}

// TranscribeRequest asks for audio to be transcribed. Model defaults to whisper-1. The upstream infers the
// audio format from Filename's extension; when Filename is empty one is chosen from the audio's leading bytes.
type TranscribeRequest struct {
	Model    string
	Audio    []byte
	Filename string
	Language string // ISO-639-1, optional
}

// TranscribeResponse is the transcribed text.
type TranscribeResponse struct {
	Text string
}

// Speech calls POST /audio/speech and returns the audio bytes.
func (c *OpenAI) Speech(ctx context.Context, req SpeechRequest) (*SpeechResponse, error) {
	body := struct {
		Model          string `json:"model"`
		Input          string `json:"input"`
		Voice          string `json:"voice"`
		ResponseFormat string `json:"response_format"`
	}{
		Model:          orDefault(req.Model, "gpt-4o-mini-tts"),
		Input:          req.Input,
		Voice:          orDefault(req.Voice, "alloy"),
		ResponseFormat: orDefault(req.Format, "mp3"),
	}
	resp, err := c.postJSON(ctx, "/audio/speech", "*/*", body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	audio, err := c.readBody(ctx, resp, maxAudio)
	if err != nil {
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = audioContentTypes[body.ResponseFormat]
	}
	return &SpeechResponse{Audio: audio, ContentType: ct}, nil
}

var audioContentTypes = map[string]string{
	"mp3":  "audio/mpeg",
	"opus": "audio/ogg",
	"aac":  "audio/aac",
	"flac": "audio/flac",
	"wav":  "audio/wav",
	"pcm":  "audio/pcm",
}

// Transcribe calls POST /audio/transcriptions with a multipart form and returns the text.
func (c *OpenAI) Transcribe(ctx context.Context, req TranscribeRequest) (*TranscribeResponse, error) {
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	filename := req.Filename
	if filename == "" {
		filename = "audio" + audioExtension(req.Audio)
	}
	fw, err := w.CreateFormFile("file", filename)
	if err == nil {
		_, err = fw.Write(req.Audio)
	}
	if err == nil {
		err = w.WriteField("model", orDefault(req.Model, "whisper-1"))
	}
	if err == nil && req.Language != "" {
		err = w.WriteField("language", req.Language)
	}
	if err == nil {
		err = w.WriteField("response_format", "json")
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("upstream: encoding form: %w", err)
	}

	hr, err := c.newRequest(ctx, "/audio/transcriptions", w.FormDataContentType(), bytes.NewReader(form.Bytes()))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "application/json")
	resp, err := c.send(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := c.readBody(ctx, resp, maxBody)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/plain" {
		return &TranscribeResponse{Text: strings.TrimSpace(string(body))}, nil
	}
	var out struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, c.malformed(resp.StatusCode, "response", err)
	}
	if out.Text == nil {
		return nil, c.newError(resp.StatusCode, "malformed response: no text")
	}
	return &TranscribeResponse{Text: *out.Text}, nil
}

// audioExtension guesses a file extension from the audio's leading bytes, since the upstream decides the
// format by extension. Unknown audio is labelled mp3, the most common upload.
func audioExtension(audio []byte) string {
	switch ct := http.DetectContentType(audio); {
	case ct == "audio/wave":
		return ".wav"
	case ct == "application/ogg":
		return ".ogg"
	case ct == "video/webm":
		return ".webm"
	case ct == "audio/x-flac" || bytes.HasPrefix(audio, []byte("fLaC")):
		return ".flac"
	case ct == "video/mp4" || ct == "audio/mp4":
		return ".m4a"
	default:
		return ".mp3"
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
