package slurmdata

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// update rewrites openapi.json from the types: go test ./api/slurmdata -run TestOpenAPIUpToDate -update
var update = flag.Bool("update", false, "rewrite openapi.json from the Go types")

// component is a Go type that has a component schema of its own, under
// slurmrestd's name; other types are inlined where they are used.
type component struct {
	t    reflect.Type
	name string
}

// components lists the types with component schemas, in slurmrestd's names.
func components() []component {
	return []component{
		{reflect.TypeFor[JobInfoResp](), "v0.0.41_openapi_job_info_resp"},
		{reflect.TypeFor[JobInfoMsg](), "v0.0.41_job_info_msg"},
		{reflect.TypeFor[JobInfo](), "v0.0.41_job_info"},
		{reflect.TypeFor[Uint64NoVal](), "v0.0.41_uint64_no_val_struct"},
		{reflect.TypeFor[Uint32NoVal](), "v0.0.41_uint32_no_val_struct"},
		{reflect.TypeFor[Uint16NoVal](), "v0.0.41_uint16_no_val_struct"},
		{reflect.TypeFor[Float64NoVal](), "v0.0.41_float64_no_val_struct"},
		{reflect.TypeFor[ProcessExitCodeVerbose](), "v0.0.41_process_exit_code_verbose"},
		{reflect.TypeFor[JobInfoGresDetail](), "v0.0.41_job_info_gres_detail"},
		{reflect.TypeFor[JobRes](), "v0.0.41_job_res"},
		{reflect.TypeFor[JobResNodes](), "v0.0.41_job_res_nodes"},
		{reflect.TypeFor[JobResNode](), "v0.0.41_job_res_node"},
		{reflect.TypeFor[JobResSocketArray](), "v0.0.41_job_res_socket_array"},
		{reflect.TypeFor[JobResSocket](), "v0.0.41_job_res_socket"},
		{reflect.TypeFor[JobResCoreArray](), "v0.0.41_job_res_core_array"},
		{reflect.TypeFor[JobResCore](), "v0.0.41_job_res_core"},
		{reflect.TypeFor[CSVString](), "v0.0.41_csv_string"},
		{reflect.TypeFor[Meta](), "v0.0.41_openapi_meta"},
		{reflect.TypeFor[StringArray](), "v0.0.41_string_array"},
		{reflect.TypeFor[Errors](), "v0.0.41_openapi_errors"},
		{reflect.TypeFor[Error](), "v0.0.41_openapi_error"},
		{reflect.TypeFor[Warnings](), "v0.0.41_openapi_warnings"},
		{reflect.TypeFor[Warning](), "v0.0.41_openapi_warning"},
		{reflect.TypeFor[NodesResp](), "v0.0.41_openapi_nodes_resp"},
		{reflect.TypeFor[Nodes](), "v0.0.41_nodes"},
		{reflect.TypeFor[Node](), "v0.0.41_node"},
		{reflect.TypeFor[AcctGatherEnergy](), "v0.0.41_acct_gather_energy"},
		{reflect.TypeFor[PartitionResp](), "v0.0.41_openapi_partition_resp"},
		{reflect.TypeFor[PartitionInfoMsg](), "v0.0.41_partition_info_msg"},
		{reflect.TypeFor[PartitionInfo](), "v0.0.41_partition_info"},
		{reflect.TypeFor[DiagResp](), "v0.0.41_openapi_diag_resp"},
		{reflect.TypeFor[StatsMsg](), "v0.0.41_stats_msg"},
		{reflect.TypeFor[ScheduleExitFields](), "v0.0.41_schedule_exit_fields"},
		{reflect.TypeFor[BfExitFields](), "v0.0.41_bf_exit_fields"},
		{reflect.TypeFor[StatsMsgRpcsByType](), "v0.0.41_stats_msg_rpcs_by_type"},
		{reflect.TypeFor[StatsMsgRPCType](), "v0.0.41_stats_msg_rpc_type"},
		{reflect.TypeFor[StatsMsgRpcsByUser](), "v0.0.41_stats_msg_rpcs_by_user"},
		{reflect.TypeFor[StatsMsgRPCUser](), "v0.0.41_stats_msg_rpc_user"},
		{reflect.TypeFor[StatsMsgRpcsQueue](), "v0.0.41_stats_msg_rpcs_queue"},
		{reflect.TypeFor[StatsMsgRPCQueue](), "v0.0.41_stats_msg_rpc_queue"},
		{reflect.TypeFor[StatsMsgRpcsDump](), "v0.0.41_stats_msg_rpcs_dump"},
		{reflect.TypeFor[StatsMsgRPCDump](), "v0.0.41_stats_msg_rpc_dump"},
		{reflect.TypeFor[HostlistString](), "v0.0.41_hostlist_string"},
		{reflect.TypeFor[SlurmdbdJobsResp](), "v0.0.41_openapi_slurmdbd_jobs_resp"},
		{reflect.TypeFor[DBJobList](), "v0.0.41_job_list"},
		{reflect.TypeFor[DBJob](), "v0.0.41_job"},
		{reflect.TypeFor[AssocShort](), "v0.0.41_assoc_short"},
		{reflect.TypeFor[DBStepList](), "v0.0.41_step_list"},
		{reflect.TypeFor[DBStep](), "v0.0.41_step"},
		{reflect.TypeFor[Hostlist](), "v0.0.41_hostlist"},
		{reflect.TypeFor[StepTRESReqMax](), "v0.0.41_step_tres_req_max"},
		{reflect.TypeFor[TRES](), "v0.0.41_tres"},
		{reflect.TypeFor[StepTRESReqMin](), "v0.0.41_step_tres_req_min"},
		{reflect.TypeFor[TRESList](), "v0.0.41_tres_list"},
		{reflect.TypeFor[StepTRESUsageMax](), "v0.0.41_step_tres_usage_max"},
		{reflect.TypeFor[StepTRESUsageMin](), "v0.0.41_step_tres_usage_min"},
		{reflect.TypeFor[WckeyTagStruct](), "v0.0.41_wckey_tag_struct"},
		{reflect.TypeFor[SinfoResp](), "v0.0.41_openapi_sinfo_resp"},
		{reflect.TypeFor[SinfoDataList](), "v0.0.41_sinfo_data_list"},
		{reflect.TypeFor[SinfoData](), "v0.0.41_sinfo_data"},
	}
}

// schemaGen builds OpenAPI 3.0 schemas from the Go types.
type schemaGen struct {
	names map[reflect.Type]string
}

func newSchemaGen() *schemaGen {
	g := &schemaGen{names: map[reflect.Type]string{}}
	for _, c := range components() {
		g.names[c.t] = c.name
	}
	return g
}

// oasTag parses a field's oas tag: required, enum=KEY, format=F.
func oasTag(f reflect.StructField) (required bool, enum, format string) {
	for part := range strings.SplitSeq(f.Tag.Get("oas"), ",") {
		switch {
		case part == "required":
			required = true
		case strings.HasPrefix(part, "enum="):
			enum = strings.TrimPrefix(part, "enum=")
		case strings.HasPrefix(part, "format="):
			format = strings.TrimPrefix(part, "format=")
		}
	}
	return required, enum, format
}

// ref returns the schema of t where it is used: a $ref to its component,
// or the inline schema.
func (g *schemaGen) ref(t reflect.Type, enum, format string) (map[string]any, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := g.names[t]; ok {
		return map[string]any{"$ref": "#/components/schemas/" + name}, nil
	}
	return g.schema(t, enum, format)
}

// schema returns the schema of t itself.
func (g *schemaGen) schema(t reflect.Type, enum, format string) (map[string]any, error) {
	switch t.Kind() {
	case reflect.String:
		s := map[string]any{"type": "string"}
		if enum != "" {
			vals := enumValues(enum)
			if vals == nil {
				return nil, fmt.Errorf("unknown enum %q", enum)
			}
			s["enum"] = vals
		}
		return s, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int32:
		return map[string]any{"type": "integer", "format": "int32"}, nil
	case reflect.Int64:
		if format == "" {
			format = "int64"
		}
		return map[string]any{"type": "integer", "format": format}, nil
	case reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}, nil
	case reflect.Slice:
		items, err := g.ref(t.Elem(), enum, "")
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				return nil, fmt.Errorf("%s.%s: no json name", t.Name(), f.Name)
			}
			req, enum, format := oasTag(f)
			s, err := g.ref(f.Type, enum, format)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
			}
			props[name] = s
			if req {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		return s, nil
	}
	return nil, fmt.Errorf("type %s: kind %s has no schema", t, t.Kind())
}

// generateOpenAPI returns the document openapi.json should hold.
func generateOpenAPI() ([]byte, error) {
	g := newSchemaGen()
	schemas := map[string]any{}
	for _, c := range components() {
		s, err := g.schema(c.t, "", "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		schemas[c.name] = s
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "Fairway: Slurm data_parser v0.0.41 component schemas",
			"description": "Generated from api/slurmdata's Go types; names and shapes as slurmrestd 24.05's openapi/slurmctld and openapi/slurmdbd.",
			"version":     Version,
		},
		"paths":      map[string]any{},
		"components": map[string]any{"schemas": schemas},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// TestOpenAPIUpToDate keeps the embedded schemas in step with the types.
func TestOpenAPIUpToDate(t *testing.T) {
	want, err := generateOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(OpenAPIComponents(), want) {
		t.Fatal("openapi.json differs from the Go types: go test ./api/slurmdata -run TestOpenAPIUpToDate -update")
	}
}
