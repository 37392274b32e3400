package slurmdata

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadComponents loads and validates the embedded OpenAPI document.
func loadComponents(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIComponents())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// validateAgainst checks v, marshalled to JSON and read back as a client
// would, against the component schema named name.
func validateAgainst(t testing.TB, doc *openapi3.T, name string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	validateJSON(t, doc, name, b)
}

// validateJSON checks a JSON document against the component schema name.
func validateJSON(t testing.TB, doc *openapi3.T, name string, b []byte) {
	t.Helper()
	ref, ok := doc.Components.Schemas[name]
	if !ok {
		t.Fatalf("no component schema %s", name)
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatalf("%s: not JSON: %v", name, err)
	}
	if err := ref.Value.VisitJSON(data, openapi3.MultiErrors()); err != nil {
		t.Errorf("%s does not validate: %v", name, err)
	}
}

func TestOpenAPIDocumentValidates(t *testing.T) {
	doc := loadComponents(t)
	for _, name := range []string{JobInfoRespSchema, NodesRespSchema, PartitionRespSchema, DiagRespSchema,
		SlurmdbdJobsRespSchema, SinfoRespSchema, ErrorsSchema} {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("component %s missing", name)
		}
	}
}

// TestConvertersValidate checks every converter's output for the fixture
// cluster against its schema: nothing null where Slurm prints a value,
// every enum value one that Slurm knows.
func TestConvertersValidate(t *testing.T) {
	doc := loadComponents(t)
	f := newFixture()
	o := f.opts()
	validateAgainst(t, doc, JobInfoRespSchema, JobInfoResponse(f.jobs, f.parts, o))
	validateAgainst(t, doc, JobInfoRespSchema, JobInfoResponse(nil, f.parts, o))
	validateAgainst(t, doc, NodesRespSchema, NodesResponse(f.nodes, o))
	validateAgainst(t, doc, PartitionRespSchema, PartitionResponse(f.parts, f.nodes, o))
	validateAgainst(t, doc, SinfoRespSchema, SinfoResponse(f.nodes, f.parts, o))
	validateAgainst(t, doc, DiagRespSchema, DiagResponse(&f.diag, o))
	validateAgainst(t, doc, SlurmdbdJobsRespSchema, SlurmdbdJobsResponse(f.jobs, f.parts, o))
	validateAgainst(t, doc, SlurmdbdJobsRespSchema, SlurmdbdJobsResponse(nil, f.parts, o))
}

// TestValidationCatchesMistakes shows the validation can fail: a job_state
// Slurm does not know, and a null list.
func TestValidationCatchesMistakes(t *testing.T) {
	doc := loadComponents(t)
	ref := doc.Components.Schemas[JobInfoRespSchema]
	for name, doc := range map[string]string{
		"unknown state": `{"jobs":[{"job_id":1,"job_state":["SLEEPING"]}],"last_backfill":{},"last_update":{}}`,
		"null jobs":     `{"jobs":null,"last_backfill":{},"last_update":{}}`,
		"no jobs":       `{"last_backfill":{},"last_update":{}}`,
		"string job_id": `{"jobs":[{"job_id":"1"}],"last_backfill":{},"last_update":{}}`,
	} {
		var data any
		if err := json.Unmarshal([]byte(doc), &data); err != nil {
			t.Fatal(err)
		}
		if err := ref.Value.VisitJSON(data); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
}
