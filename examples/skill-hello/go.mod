module github.com/agentbot/gateway/examples/skill-hello

go 1.26.0

require github.com/agentbot/gateway/sdk/skill v0.0.0

require (
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/agentbot/gateway/sdk/skill => ../../sdk/skill
