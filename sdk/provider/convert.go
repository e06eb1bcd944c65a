package provider

import (
	"encoding/json"

	"github.com/agentbot/gateway/sdk/provider/internal/pb"
)

func callerToPB(c Caller) *pb.Caller {
	return &pb.Caller{UserId: c.UserID, Email: c.Email, Admin: c.Admin, Plan: c.Plan,
		SubscriptionStatus: c.SubscriptionStatus, Credentials: c.Credentials, RequestId: c.RequestID}
}

func callerFromPB(c *pb.Caller) Caller {
	if c == nil {
		return Caller{}
	}
	return Caller{UserID: c.UserId, Email: c.Email, Admin: c.Admin, Plan: c.Plan,
		SubscriptionStatus: c.SubscriptionStatus, Credentials: c.Credentials, RequestID: c.RequestId}
}

func errorToPB(e *Error) *pb.Error {
	if e == nil {
		return nil
	}
	var fields []byte
	if len(e.Fields) > 0 {
		fields, _ = json.Marshal(e.Fields)
	}
	return &pb.Error{Status: int32(e.Status), Code: e.Code, Message: e.Message, Fields: fields}
}

func errorFromPB(e *pb.Error) *Error {
	if e == nil {
		return nil
	}
	out := &Error{Status: int(e.Status), Code: e.Code, Message: e.Message}
	if len(e.Fields) > 0 {
		_ = json.Unmarshal(e.Fields, &out.Fields)
	}
	return out
}

func usageToPB(u *Usage) *pb.Usage {
	if u == nil {
		return nil
	}
	return &pb.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CostMicroUsd: u.CostMicroUSD, Model: u.Model}
}

func usageFromPB(u *pb.Usage) *Usage {
	if u == nil {
		return nil
	}
	return &Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CostMicroUSD: u.CostMicroUsd, Model: u.Model}
}

func metadataToPB(m *MetadataResponse) *pb.MetadataResponse {
	out := &pb.MetadataResponse{Name: m.Name, Version: m.Version, ProtocolVersion: ProtocolVersion}
	for _, c := range m.Capabilities {
		out.Capabilities = append(out.Capabilities, &pb.Capability{Id: c.ID, Description: c.Description,
			Streaming: c.Streaming, PriceMicroUsd: c.PriceMicroUSD})
	}
	for _, r := range m.Routes {
		out.Routes = append(out.Routes, &pb.Route{Method: r.Method, Path: r.Path, Public: r.Public})
	}
	return out
}

func metadataFromPB(m *pb.MetadataResponse) *MetadataResponse {
	out := &MetadataResponse{Name: m.Name, Version: m.Version, ProtocolVersion: int(m.ProtocolVersion)}
	for _, c := range m.Capabilities {
		out.Capabilities = append(out.Capabilities, Capability{ID: c.Id, Description: c.Description,
			Streaming: c.Streaming, PriceMicroUSD: c.PriceMicroUsd})
	}
	for _, r := range m.Routes {
		out.Routes = append(out.Routes, Route{Method: r.Method, Path: r.Path, Public: r.Public})
	}
	return out
}
