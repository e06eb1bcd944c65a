// Package migrations holds the versioned database schema, one folder per backend
// (postgres/, sqlite/), embedded into the binary. Files are named
// NNNN_description.sql and applied in order, each once; core/store runs them.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
