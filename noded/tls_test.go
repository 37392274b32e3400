package noded

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api/pki"
)

// TestWithCA gives jobs the CA bundle's PEM text as FAIRWAY_CA when the node
// uses TLS (replacing the submitter's), and leaves the environment alone
// without TLS.
func TestWithCA(t *testing.T) {
	creds := &pki.Credentials{CAPEM: []byte("-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n")}
	tests := []struct {
		name  string
		env   []string
		creds *pki.Credentials
		want  []string
	}{
		{"no TLS", []string{"A=1", "FAIRWAY_CA=/home/u/ca.pem"}, nil, []string{"A=1", "FAIRWAY_CA=/home/u/ca.pem"}},
		{"TLS replaces the submitter's", []string{"A=1", "FAIRWAY_CA=/home/u/ca.pem", "Z=2"}, creds,
			[]string{"A=1", "FAIRWAY_CA=" + string(creds.CAPEM), "Z=2"}},
		{"TLS adds", []string{"A=1", "Z=2"}, creds, []string{"A=1", "FAIRWAY_CA=" + string(creds.CAPEM), "Z=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, withCA(tt.env, tt.creds)); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}
