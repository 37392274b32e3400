package slurmrest

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// pathsDocument is the OpenAPI 3.0 document of the paths this API serves,
// the security schemes slurmrestd declares (user and token: the
// X-SLURM-USER-NAME and X-SLURM-USER-TOKEN headers; bearerAuth), and the
// component schemas of the requests and responses this package owns (job
// submission, signal, ping, the common meta/errors/warnings).
//
//go:embed openapi.json
var pathsDocument []byte

// buildDocument returns the served OpenAPI document: pathsDocument with the
// component schemas of components (an OpenAPI document or fragment with
// components.schemas, api/slurmdata's) added, and info.version naming the
// Slurm release the data matches as slurmrestd does ("Slurm-RELEASE&...").
// A schema both define is components'; the rest of pathsDocument's are kept.
func buildDocument(components []byte, release string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(pathsDocument, &doc); err != nil {
		return nil, fmt.Errorf("parse the embedded paths document: %w", err)
	}
	var frag struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(components, &frag); err != nil {
		return nil, fmt.Errorf("parse the data_parser components: %w", err)
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if schemas == nil {
		return nil, fmt.Errorf("the embedded paths document has no components.schemas")
	}
	for name, s := range frag.Components.Schemas {
		schemas[name] = s
	}
	if info, ok := doc["info"].(map[string]any); ok {
		info["version"] = "Slurm-" + release + "&openapi/slurmdbd&openapi/slurmctld"
	}
	out, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode the OpenAPI document: %w", err)
	}
	return out, nil
}
