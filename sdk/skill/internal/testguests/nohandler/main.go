// Command nohandler is a test guest that forgets to register a handler.
package main

import _ "github.com/agentbot/gateway/sdk/skill"

func main() {}
