//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// prometheusBinary is Debian's prometheus package's server.
const prometheusBinary = "/usr/bin/prometheus"

// promServer is a Prometheus server the test runs.
type promServer struct {
	t   *testing.T
	url string
	log string
}

// startPrometheus runs Prometheus scraping the cluster's controller (HTTPS,
// the cluster CA) and node daemon every second and evaluating contrib's
// alert rules every second, with their for: durations cut to 0s so a
// condition alerts at its first evaluation.
func startPrometheus(t *testing.T, c *cluster) *promServer {
	t.Helper()
	if _, err := os.Stat(prometheusBinary); err != nil {
		t.Fatalf("%s is missing (install the prometheus package): %v", prometheusBinary, err)
	}
	dir := t.TempDir()
	rules, err := os.ReadFile(filepath.Join("..", "..", "contrib", "prometheus", "fairway-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	short := regexp.MustCompile(`(?m)^(\s+for:) \S+$`).ReplaceAll(rules, []byte("$1 0s"))
	if err := os.WriteFile(filepath.Join(dir, "fairway-rules.yml"), short, 0o644); err != nil {
		t.Fatal(err)
	}
	ctld := strings.TrimPrefix(c.ctldURL, "https://")
	noded := c.noded.argValue("--listen")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - fairway-rules.yml
scrape_configs:
  - job_name: fairway-ctld
    scheme: https
    tls_config:
      ca_file: %q
    static_configs:
      - targets: [%q]
  - job_name: fairway-noded
    static_configs:
      - targets: [%q]
`, caFile(), ctld, noded)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddrs(t, 1)[0]
	p := &promServer{t: t, url: "http://" + addr, log: filepath.Join(dir, "prometheus.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prometheusBinary, "--config.file", cfgPath, "--storage.tsdb.path", filepath.Join(dir, "data"),
		"--web.listen-address", addr, "--log.level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			data, _ := os.ReadFile(p.log)
			t.Logf("prometheus log:\n%s", tail(string(data), 4000))
		}
	})
	return p
}

// get decodes the data of a Prometheus API answer.
func (p *promServer) get(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("GET %s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// query returns the values of an instant query's vector, by the series'
// labels (as Prometheus prints them).
func (p *promServer) query(q string) (map[string]float64, error) {
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(q), &data); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", q, r.Value[1])
		}
		out[fmt.Sprint(r.Metric)] = v
	}
	return out, nil
}

// single returns the value of a query that gives one series.
func (p *promServer) single(q string) (float64, bool) {
	res, err := p.query(q)
	if err != nil || len(res) != 1 {
		return 0, false
	}
	for _, v := range res {
		return v, true
	}
	return 0, false
}

// firing returns the labels of the alerts firing now.
func (p *promServer) firing() ([]map[string]string, error) {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", &data); err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, a := range data.Alerts {
		if a.State == "firing" {
			out = append(out, a.Labels)
		}
	}
	return out, nil
}

// TestPrometheusScrapesAndAlerts: a real Prometheus scrapes a dev cluster
// (one controller over HTTPS, one node daemon with two fake GPUs) with
// contrib's rules loaded (for: durations cut to 0s). It sees the cluster's
// two GPUs, a GPU job's allocation on the controller's figures and, by its
// hpc_job label, on the node's; when the node daemon is killed, the
// FairwayNodeDown alert fires for node1.
func TestPrometheusScrapesAndAlerts(t *testing.T) {
	// The node's lease (7 s) and fence grace (1 s) run out before it is
	// declared DOWN (11 s > 7 + 1 + 2 s of kill wait).
	c := newCluster(t, clusterOpts{nodeDownAfter: "11s", gpus: "2:h100", nodeCPUs: "4", nodeMemory: "4096",
		clusterConfig: writeClusterConfig(t, api.ClusterConfig{
			Partitions:        []api.Partition{{Name: "main", Default: true, DefaultTimeSecs: 3600}},
			NodeDownAfterSecs: 11, NodeLeaseSecs: 7, FenceGraceSecs: 1,
		})})
	p := startPrometheus(t, c)

	c.waitFor("Prometheus to see both targets up", 60*time.Second, func() bool {
		v, ok := p.single(`sum(up{job=~"fairway-ctld|fairway-noded"})`)
		return ok && v == 2
	})
	c.waitFor("the cluster's 2 GPUs in slurm_gpus_total and fairway_partition_gpus_capacity", 30*time.Second, func() bool {
		a, okA := p.single(`slurm_gpus_total`)
		b, okB := p.single(`sum(fairway_partition_gpus_capacity{partition="main",gpu_type="h100"})`)
		return okA && okB && a == 2 && b == 2
	})

	id := c.sbatch("-J", "gpujob", "--gres=gpu:1", "--mem=64M", "--wrap", "sleep 600")
	c.waitState(id, "RUNNING", 60*time.Second)
	c.waitFor("job "+id+"'s GPU in slurm_gpus_alloc and on the node with hpc_job="+id, 30*time.Second, func() bool {
		alloc, ok1 := p.single(`slurm_gpus_alloc`)
		held, ok2 := p.single(`sum(fairway_noded_gpu_allocated{hpc_job="` + id + `"})`)
		running, ok3 := p.single(`fairway_jobs_by_phase{phase="running"}`)
		return ok1 && ok2 && ok3 && alloc == 1 && held == 1 && running == 1
	})
	if alerts, err := p.firing(); err != nil {
		t.Fatal(err)
	} else {
		for _, a := range alerts {
			if a["alertname"] == "FairwayNodeDown" {
				t.Fatalf("FairwayNodeDown fires while the node is up: %v", a)
			}
		}
	}

	c.noded.kill9()
	var last []map[string]string
	c.waitFor("FairwayNodeDown firing for node1", 90*time.Second, func() bool {
		alerts, err := p.firing()
		if err != nil {
			return false
		}
		last = alerts
		for _, a := range alerts {
			if a["alertname"] == "FairwayNodeDown" && a["node"] == "node1" {
				return true
			}
		}
		return false
	})
	t.Logf("alerts firing: %v", last)
	if v, ok := p.single(`slurm_nodes_down`); !ok || v != 1 {
		t.Errorf("slurm_nodes_down = %v (found %v), want 1", v, ok)
	}
}
