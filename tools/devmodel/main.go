// Command devmodel is a stand-in model for trying agents without an API key:
// a small OpenAI-compatible server (POST /v1/chat/completions, streamed or
// not, and GET /v1/models) whose answers are scripted, not generated.
//
//	go run ./tools/devmodel                # listens on 127.0.0.1:8090
//	OPENAI_BASE_URL=http://127.0.0.1:8090/v1 OPENAI_API_KEY=dev make run
//
// Its script, applied to the last message of the conversation:
//   - a user message that names one of the offered tools, followed by a
//     JSON object, calls that tool with the object as its arguments (every
//     tool named, in the order they appear, as parallel calls); a tool named
//     without an object is called with {};
//   - tool results are answered with what each tool returned;
//   - a message mentioning a heartbeat is answered "HEARTBEAT_OK";
//   - anything else is echoed back.
//
// It exists for the README's walkthrough and local development; the tests of
// the agent loop use their own scripted servers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "devmodel: an OpenAI-compatible stand-in model on http://%s/v1\n", ln.Addr())
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
