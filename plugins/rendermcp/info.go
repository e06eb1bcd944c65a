package rendermcp

import (
	"net/http"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

// The informational routes answer static JSON in the shapes existing clients read
// (notes/agentbot-api.md §3.15), pointing at Render's official MCP server.

const (
	repoURL     = "https://github.com/render-oss/render-mcp-server"
	docsURL     = "https://render.com/docs/mcp-server"
	dockerImage = "ghcr.io/render-oss/render-mcp-server"
	apiKeysURL  = "https://dashboard.render.com/account/api-tokens"
)

func health(*provider.HTTPRequest) (*reply, error) {
	return &reply{status: http.StatusOK, body: struct {
		Name          string `json:"name"`
		Version       string `json:"version"`
		Description   string `json:"description"`
		Status        string `json:"status"`
		OfficialRepo  string `json:"official_repo"`
		DockerImage   string `json:"docker_image"`
		Documentation string `json:"documentation"`
		Timestamp     string `json:"timestamp"`
	}{
		Name:          "Render MCP Server Gateway",
		Version:       Version,
		Description:   "Gateway for the official Render MCP Server",
		Status:        "operational",
		OfficialRepo:  repoURL,
		DockerImage:   dockerImage,
		Documentation: docsURL,
		// JavaScript's toISOString, as existing clients parse it.
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"),
	}}, nil
}

func info(*provider.HTTPRequest) (*reply, error) {
	return &reply{status: http.StatusOK, body: struct {
		Name          string   `json:"name"`
		Version       string   `json:"version"`
		Description   string   `json:"description"`
		MaintainedBy  string   `json:"maintained_by"`
		Repository    string   `json:"repository"`
		DockerImage   string   `json:"docker_image"`
		Documentation string   `json:"documentation"`
		SetupGuide    string   `json:"setup_guide"`
		Features      []string `json:"features"`
	}{
		Name:          "Render MCP Server",
		Version:       "latest",
		Description:   "Model Context Protocol server for managing Render infrastructure",
		MaintainedBy:  "Render",
		Repository:    repoURL,
		DockerImage:   dockerImage,
		Documentation: docsURL,
		// The original service pointed at a guide file in its own repository; the setup
		// route carries the same steps here.
		SetupGuide: "/api/render-mcp/setup",
		Features: []string{
			"Service management (web, static, cron, worker)",
			"Environment variable management",
			"Deployment history and monitoring",
			"Database management (Postgres)",
			"Key-Value store management (Redis)",
			"Logs and metrics",
			"SQL query execution (read-only)",
		},
	}}, nil
}

func setup(*provider.HTTPRequest) (*reply, error) {
	return &reply{status: http.StatusOK, body: map[string]any{
		"title":                "Render MCP Server Setup",
		"recommended_approach": "Use the official Docker image directly",
		"quick_start": map[string]string{
			"step_1": "Get RENDER_API_KEY from " + apiKeysURL,
			"step_2": "Configure your IDE (Cursor, Claude Desktop, VS Code)",
			"step_3": "Use the Docker configuration in docker_config_example",
		},
		"docker_config_example": map[string]any{
			"mcpServers": map[string]any{
				"render": map[string]any{
					"command": "docker",
					"args":    []string{"run", "-i", "--rm", "-e", "RENDER_API_KEY", "-v", "render-mcp-server-config:/config", dockerImage},
					"env":     map[string]string{"RENDER_API_KEY": "rnd_your_api_key_here"},
				},
			},
		},
		"documentation_links": map[string]string{
			"official_setup": docsURL,
			"github":         repoURL,
			"mcp_protocol":   "https://modelcontextprotocol.io/",
			// The original service named a guide file in its own repository; here the
			// platform's own way in is the gateway id.
			"agentbot_guide": `POST /api/v1/gateway with X-Plugin-Id: render-mcp and {"method":"tools/list","apiKey":"rnd_…"}`,
		},
	}}, nil
}

// toolCategories lists the Render MCP server's tools by category, as its
// README does.
var toolCategories = map[string][]string{
	"workspaces":  {"list_workspaces", "select_workspace", "get_selected_workspace"},
	"services":    {"list_services", "get_service", "create_web_service", "create_static_site", "create_cron_job", "update_environment_variables"},
	"deployments": {"list_deploys", "get_deploy"},
	"logs":        {"list_logs", "list_log_label_values"},
	"metrics":     {"get_metrics"},
	"postgres":    {"list_postgres_instances", "get_postgres", "create_postgres", "query_render_postgres"},
	"key_value":   {"list_key_value", "get_key_value", "create_key_value"},
}

func tools(*provider.HTTPRequest) (*reply, error) {
	return &reply{status: http.StatusOK, body: map[string]any{
		"source":             repoURL,
		"tool_categories":    toolCategories,
		"complete_reference": repoURL + "#tools",
	}}, nil
}

func examples(*provider.HTTPRequest) (*reply, error) {
	return &reply{status: http.StatusOK, body: map[string]any{
		"description": "Example prompts for the Render MCP Server",
		"examples": map[string][]string{
			"service_management": {
				"List all my Render services",
				"Get details about my agentbot-api service",
				"Create a new Node.js web service from my GitHub repo",
				"Update environment variables for my API service",
			},
			"deployment_monitoring": {
				"Show me deployment history for my main service",
				"What was deployed today?",
				"Get details about the last deployment",
				"Which services have failed deployments?",
			},
			"database_management": {
				"List all my Postgres databases",
				"Create a new Postgres database named cache-db",
				"Query my database: SELECT COUNT(*) FROM users",
				"Show database details and connection string",
			},
			"monitoring_and_logs": {
				"Get recent logs from my API service",
				"Show me error logs from the last hour",
				"What is the CPU usage for my service?",
				"Display HTTP request metrics and latency",
			},
			"troubleshooting": {
				"Why is my service not running?",
				"Show me all services and their current status",
				"Get logs for failed deployments",
				"What is the memory usage trend?",
			},
		},
	}}, nil
}
