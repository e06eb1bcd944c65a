package gateway

import (
	"encoding/json"

	"github.com/agentbot/gateway/core/route"
)

// callHeaders are the request headers a gateway call reads.
var callHeaders = []route.Param{
	{Name: "X-Plugin-Id", Header: true, Doc: "the id to call (wins over the body's plugin)"},
	{Name: "Idempotency-Key", Header: true, Doc: "1 to 255 characters: a retry with the same key and body answers as the first call, without a second charge"},
	{Name: "X-Payment-Method", Header: true, Doc: "stripe, mpp or x402: how to pay when more than one way would"},
}

// The types below document the gateway's JSON bodies for the OpenAPI document
// (route.Route's Request and Response); the handlers build the same shapes
// as maps.

// callRequest is a gateway call: the target and its input, the other
// members.
type callRequest struct {
	Plugin string `json:"plugin,omitempty" doc:"the id to call (X-Plugin-Id wins; default generate-text)"`
	Stream bool   `json:"stream,omitempty" doc:"answer with server-sent events when the id streams"`
	// generate-text's and agent's input (other ids take their own members):
	Messages []chatMessage `json:"messages,omitempty" doc:"the conversation (generate-text, agent)"`
	Prompt   string        `json:"prompt,omitempty" doc:"a single user message, instead of messages"`
}

type chatMessage struct {
	Role    string `json:"role" enum:"system,user,assistant"`
	Content string `json:"content"`
}

// paymentDoc is how a call was paid.
type paymentDoc struct {
	Method  string  `json:"method" enum:"free,stripe,mpp,x402"`
	Receipt *string `json:"receipt" doc:"a machine payment's receipt (MPP Payment-Receipt or x402 PAYMENT-RESPONSE)"`
}

// callAnswer is the gateway's envelope of a call's output.
type callAnswer struct {
	Plugin    string          `json:"plugin"`
	Result    json.RawMessage `json:"result" doc:"the target's output"`
	Timestamp string          `json:"timestamp"`
	Payment   paymentDoc      `json:"payment"`
}

type targetDoc struct {
	ID        string `json:"id"`
	Streaming bool   `json:"streaming"`
	Price     string `json:"price" doc:"USD per call"`
	Currency  string `json:"currency" enum:"usd"`
}

type listAnswer struct {
	Plugins        []targetDoc `json:"plugins"`
	Default        string      `json:"default"`
	PaymentMethods []string    `json:"paymentMethods"`
}

// oaError is the OpenAI-compatible routes' error answer.
type oaError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code" doc:"the gateway's error code, lower case"`
	} `json:"error"`
}

type oaChoice struct {
	Index   int `json:"index"`
	Message struct {
		Role    string `json:"role" enum:"assistant"`
		Content string `json:"content"`
	} `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

type oaCompletion struct {
	ID      string          `json:"id"`
	Object  string          `json:"object" enum:"chat.completion"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []oaChoice      `json:"choices"`
	Usage   json.RawMessage `json:"usage"`
}

type oaModel struct {
	ID      string `json:"id"`
	Object  string `json:"object" enum:"model"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type oaModels struct {
	Object string    `json:"object" enum:"list"`
	Data   []oaModel `json:"data"`
}
