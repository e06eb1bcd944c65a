package provider

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agentbot/gateway/sdk/provider/internal/pb"
)

// Client is the gateway's side of a provider connection. Errors it returns are
// transport failures (the plugin is unreachable, crashed, or over its
// deadline); failures the caller should see come back inside responses.
type Client struct {
	c pb.ProviderClient
}

// ErrUnavailable wraps transport failures: the plugin could not be reached or
// did not answer.
var ErrUnavailable = errors.New("provider unavailable")

func transportErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	case codes.Canceled:
		return context.Canceled
	}
	return errors.Join(ErrUnavailable, err)
}

// Metadata asks the plugin to describe itself.
func (c *Client) Metadata(ctx context.Context) (*MetadataResponse, error) {
	m, err := c.c.Metadata(ctx, &pb.MetadataRequest{})
	if err != nil {
		return nil, transportErr(err)
	}
	return metadataFromPB(m), nil
}

// Configure sends the plugin its configuration.
func (c *Client) Configure(ctx context.Context, req *ConfigureRequest) (*ConfigureResponse, error) {
	resp, err := c.c.Configure(ctx, &pb.ConfigureRequest{Config: req.Config})
	if err != nil {
		return nil, transportErr(err)
	}
	return &ConfigureResponse{Error: errorFromPB(resp.Error)}, nil
}

// Invoke runs one call.
func (c *Client) Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error) {
	resp, err := c.c.Invoke(ctx, &pb.InvokeRequest{Capability: req.Capability, Input: req.Input, Caller: callerToPB(req.Caller)})
	if err != nil {
		return nil, transportErr(err)
	}
	out := &InvokeResponse{Output: resp.Output, Error: errorFromPB(resp.Error)}
	if u := usageFromPB(resp.Usage); u != nil {
		out.Usage = *u
	}
	return out, nil
}

// InvokeStream runs a streaming call, handing each chunk to fn as it arrives.
// An error from fn ends the call.
func (c *Client) InvokeStream(ctx context.Context, req *InvokeRequest, fn func(*Chunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.c.InvokeStream(ctx, &pb.InvokeRequest{Capability: req.Capability, Input: req.Input, Caller: callerToPB(req.Caller)})
	if err != nil {
		return transportErr(err)
	}
	return recvAll(s, func(ch *pb.Chunk) error {
		return fn(&Chunk{Data: ch.Data, Usage: usageFromPB(ch.Usage), Error: errorFromPB(ch.Error)})
	})
}

// HTTPResponsePart is one message of a route's response: the first carries
// Status and Headers, the rest Body bytes.
type HTTPResponsePart struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// HandleHTTP forwards a request to one of the plugin's routes.
func (c *Client) HandleHTTP(ctx context.Context, req *HTTPRequest, fn func(*HTTPResponsePart) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.c.HandleHTTP(ctx, &pb.HTTPRequest{Method: req.Method, Path: req.Path, Query: req.Query,
		Params: req.Params, Headers: req.Headers, Body: req.Body, Caller: callerToPB(req.Caller)})
	if err != nil {
		return transportErr(err)
	}
	return recvAll(s, func(p *pb.HTTPResponsePart) error {
		return fn(&HTTPResponsePart{Status: int(p.Status), Headers: p.Headers, Body: p.Body})
	})
}

func recvAll[T any](s interface{ Recv() (*T, error) }, fn func(*T) error) error {
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return transportErr(err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

// IsUnimplemented reports whether err says the plugin lacks an optional interface.
func IsUnimplemented(err error) bool {
	var se interface{ GRPCStatus() *status.Status }
	return errors.As(err, &se) && se.GRPCStatus().Code() == codes.Unimplemented
}

func newClient(conn grpc.ClientConnInterface) *Client { return &Client{c: pb.NewProviderClient(conn)} }
