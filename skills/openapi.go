package skills

// The types below document the marketplace routes' JSON answers for the
// OpenAPI document (route.Route's Response); the handlers build the same
// shapes as maps (skillJSON).

// skillDoc is skillJSON's shape; GET /api/skills/:name adds its details.
type skillDoc struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Category    string   `json:"category"`
	Icon        string   `json:"icon"`
	Author      string   `json:"author"`
	Version     string   `json:"version"`
	Price       string   `json:"price" doc:"USD per call"`
	Currency    string   `json:"currency" enum:"USD"`
	Downloads   int64    `json:"downloads"`
	Rating      float64  `json:"rating"`
	Featured    bool     `json:"featured"`
	Actions     []string `json:"actions,omitempty"`
	SHA256      string   `json:"sha256,omitempty"`
}

type skillListDoc struct {
	Skills     []skillDoc `json:"skills"`
	Categories []string   `json:"categories"`
	Featured   []skillDoc `json:"featured"`
}

type skillDetailDoc struct {
	skillDoc
	Skill        string         `json:"skill"`
	Capabilities []string       `json:"capabilities"`
	Limits       ManifestLimits `json:"limits"`
	Pricing      struct {
		PerCall  string `json:"perCall"`
		Currency string `json:"currency" enum:"USD"`
	} `json:"pricing"`
	HTTPHosts []string `json:"httpHosts,omitempty"`
}

type publishedDoc struct {
	Skill     skillDoc `json:"skill"`
	GatewayID string   `json:"gatewayId" doc:"the id to call through POST /api/v1/gateway"`
}
