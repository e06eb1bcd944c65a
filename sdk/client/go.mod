module github.com/agentbot/gateway/sdk/client

go 1.26.0
