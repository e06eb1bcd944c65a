package provider

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agentbot/gateway/sdk/provider/internal/pb"
)

// grpcServer adapts a Provider to the generated service.
type grpcServer struct {
	pb.UnimplementedProviderServer
	p Provider
}

var errNoStreaming = status.Error(codes.Unimplemented, "provider does not implement streaming")

func (s *grpcServer) Metadata(ctx context.Context, _ *pb.MetadataRequest) (*pb.MetadataResponse, error) {
	m, err := s.p.Metadata(ctx, &MetadataRequest{})
	if err != nil {
		return nil, err
	}
	return metadataToPB(m), nil
}

func (s *grpcServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	c, ok := s.p.(Configurer)
	if !ok {
		return &pb.ConfigureResponse{}, nil
	}
	resp, err := c.Configure(ctx, &ConfigureRequest{Config: req.Config})
	if err != nil {
		return nil, err
	}
	return &pb.ConfigureResponse{Error: errorToPB(resp.Error)}, nil
}

func (s *grpcServer) Invoke(ctx context.Context, req *pb.InvokeRequest) (*pb.InvokeResponse, error) {
	resp, err := s.p.Invoke(ctx, &InvokeRequest{Capability: req.Capability, Input: req.Input, Caller: callerFromPB(req.Caller)})
	if err != nil {
		return nil, err
	}
	return &pb.InvokeResponse{Output: resp.Output, Usage: usageToPB(&resp.Usage), Error: errorToPB(resp.Error)}, nil
}

type chunkSender struct {
	s pb.Provider_InvokeStreamServer
}

func (c chunkSender) Send(ch *Chunk) error {
	return c.s.Send(&pb.Chunk{Data: ch.Data, Usage: usageToPB(ch.Usage), Error: errorToPB(ch.Error)})
}

func (s *grpcServer) InvokeStream(req *pb.InvokeRequest, stream pb.Provider_InvokeStreamServer) error {
	st, ok := s.p.(Streamer)
	if !ok {
		return errNoStreaming
	}
	return st.InvokeStream(stream.Context(), &InvokeRequest{Capability: req.Capability, Input: req.Input,
		Caller: callerFromPB(req.Caller)}, chunkSender{stream})
}

type httpWriter struct {
	s           pb.Provider_HandleHTTPServer
	wroteHeader bool
}

func (w *httpWriter) WriteHeader(status int, headers map[string]string) error {
	if w.wroteHeader {
		return errors.New("provider: WriteHeader called twice")
	}
	w.wroteHeader = true
	return w.s.Send(&pb.HTTPResponsePart{Status: int32(status), Headers: headers})
}

func (w *httpWriter) Write(body []byte) error {
	if !w.wroteHeader {
		if err := w.WriteHeader(200, nil); err != nil {
			return err
		}
	}
	return w.s.Send(&pb.HTTPResponsePart{Body: body})
}

func (s *grpcServer) HandleHTTP(req *pb.HTTPRequest, stream pb.Provider_HandleHTTPServer) error {
	h, ok := s.p.(HTTPHandler)
	if !ok {
		return status.Error(codes.Unimplemented, "provider serves no routes")
	}
	w := &httpWriter{s: stream}
	err := h.HandleHTTP(stream.Context(), &HTTPRequest{Method: req.Method, Path: req.Path, Query: req.Query,
		Params: req.Params, Headers: req.Headers, Body: req.Body, Caller: callerFromPB(req.Caller)}, w)
	if err == nil && !w.wroteHeader {
		err = w.WriteHeader(204, nil)
	}
	return err
}
