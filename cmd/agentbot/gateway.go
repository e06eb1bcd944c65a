package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/agentbot/gateway/sdk/client"
)

// maxInput bounds --input read from a file or stdin (the gateway takes 1 MiB).
const maxInput = 1 << 20

func (c *cli) gatewayCmd() *cobra.Command {
	var input string
	var stream bool
	call := &cobra.Command{
		Use:   "call <plugin-id>",
		Short: "Call a gateway id (a provider capability, or skill:<name>)",
		Long: `Calls a gateway id with --input, a JSON object given inline, as @file, or as - for stdin
({} when left out). With --stream the output's chunks are printed the moment they
arrive: text deltas as text, other chunks one JSON object a line (with --json, every
event as {"event", "data"}, one a line).`,
		Example: `  agentbot gateway call skill:hello --input '{"action":"hello","name":"Ada"}'
  agentbot gateway call generate-text --stream --input '{"prompt":"Write a haiku"}'
  echo '{"text":"hi"}' | agentbot gateway call echo --input -`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := c.readInput(input)
			if err != nil {
				return err
			}
			cl, err := c.api(true)
			if err != nil {
				return err
			}
			if !stream {
				res, err := cl.Call(cmd.Context(), args[0], body)
				if err != nil {
					return err
				}
				if c.jsonOut {
					return c.printJSON(res)
				}
				return c.printResult(res.Result)
			}
			s, err := cl.CallStream(cmd.Context(), args[0], body)
			if err != nil {
				return err
			}
			return c.printStream(s)
		},
	}
	call.Flags().StringVar(&input, "input", "", "the call's input: a JSON object, @file, or - for stdin")
	call.Flags().BoolVar(&stream, "stream", false, "stream the output as it arrives")

	list := &cobra.Command{Use: "list", Short: "List the gateway's ids, prices and whether they stream",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.api(false)
			if err != nil {
				return err
			}
			ts, err := cl.Targets(cmd.Context())
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(map[string]any{"plugins": ts})
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPRICE\tSTREAMS")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t$%s\t%v\n", t.ID, t.Price, t.Streaming)
			}
			return tw.Flush()
		}}
	return group("gateway", "Call the gateway", call, list)
}

// readInput reads --input: inline JSON, @file or - (stdin), {} when empty;
// it must be a JSON object.
func (c *cli) readInput(arg string) (json.RawMessage, error) {
	var b []byte
	switch {
	case arg == "":
		return json.RawMessage("{}"), nil
	case arg == "-":
		var err error
		if b, err = io.ReadAll(io.LimitReader(c.stdin, maxInput+1)); err != nil {
			return nil, err
		}
	case strings.HasPrefix(arg, "@"):
		f, err := os.Open(arg[1:])
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		defer f.Close()
		if b, err = io.ReadAll(io.LimitReader(f, maxInput+1)); err != nil {
			return nil, err
		}
	default:
		b = []byte(arg)
	}
	if len(b) > maxInput {
		return nil, usageErrorf("--input exceeds %d bytes", maxInput)
	}
	b = bytes.TrimSpace(b)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return nil, usageErrorf("--input must be a JSON object: %s", excerpt(b))
	}
	return b, nil
}

func excerpt(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// printResult prints a call's output for people: indented JSON.
func (c *cli) printResult(v json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, v, "", "  "); err != nil {
		buf.Reset()
		buf.Write(v)
	}
	buf.WriteByte('\n')
	_, err := c.stdout.Write(buf.Bytes())
	return err
}

// printStream prints a stream's events as they arrive. For people, a chunk
// that is only a text delta ({"delta": "…"}) is written as text, any other
// chunk as one line of JSON, and the closing "usage" event not at all; with
// --json every event is a line {"event", "data"}.
func (c *cli) printStream(s *client.Stream) error {
	midLine := false
	err := s.Each(func(ev client.Event) error {
		if c.jsonOut {
			b, err := json.Marshal(map[string]any{"event": ev.Name, "data": rawOrString(ev.Data)})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "%s\n", b)
			return err
		}
		switch ev.Name {
		case "usage":
			return nil
		case "response": // an id that does not stream answered at once
			var env struct {
				Result json.RawMessage `json:"result"`
			}
			if json.Unmarshal(ev.Data, &env) == nil && env.Result != nil {
				return c.printResult(env.Result)
			}
			return c.printResult(ev.Data)
		}
		var delta struct {
			Delta *string `json:"delta"`
		}
		var all map[string]json.RawMessage
		if json.Unmarshal(ev.Data, &all) == nil && len(all) == 1 && json.Unmarshal(ev.Data, &delta) == nil && delta.Delta != nil {
			midLine = !strings.HasSuffix(*delta.Delta, "\n")
			_, err := io.WriteString(c.stdout, *delta.Delta)
			return err
		}
		if midLine {
			fmt.Fprintln(c.stdout)
			midLine = false
		}
		prefix := ""
		if ev.Name != "" {
			prefix = ev.Name + " "
		}
		_, err := fmt.Fprintf(c.stdout, "%s%s\n", prefix, ev.Data)
		return err
	})
	if midLine {
		fmt.Fprintln(c.stdout)
	}
	return err
}

// rawOrString keeps JSON data as JSON and anything else as a string.
func rawOrString(b json.RawMessage) any {
	if json.Valid(b) {
		return b
	}
	return string(b)
}
