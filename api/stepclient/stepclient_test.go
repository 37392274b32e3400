package stepclient_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/api/stepclient"
	"github.com/fairway-hpc/fairway/api/stepclient/steptest"
)

func TestLaunchStreamsFrames(t *testing.T) {
	ca := steptest.NewCA(t)
	n := ca.Node(t, "gpu01", apipki.Node("gpu01"), nil)
	c := stepclient.New(ca.Pool, client.TokenAuth{Token: "tok"})
	s, err := c.Launch(context.Background(), stepclient.Node{Name: "gpu01", Addr: n.Addr()}, api.NodeStepRequest{JobID: 5, Tasks: []int{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	for {
		f, err := s.Next()
		if errors.Is(err, io.EOF) || err == nil && f.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Exit != nil {
			got = append(got, "exit "+string(rune('0'+f.Task)))
		} else {
			got = append(got, string(f.Data))
		}
	}
	want := []string{"hello from task 0 on gpu01\n", "hello from task 1 on gpu01\n", "exit 0", "exit 1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("frames (-want +got):\n%s", d)
	}
	if h := n.AuthHeaders(); len(h) != 1 || h[0] != "tok" {
		t.Errorf("credentials sent %q, want the token", h)
	}
}

func TestWrongNodeIdentityIsRefused(t *testing.T) {
	ca := steptest.NewCA(t)
	n := ca.Node(t, "gpu01", apipki.Node("gpu02"), nil)
	c := stepclient.New(ca.Pool, nil)
	_, err := c.Launch(context.Background(), stepclient.Node{Name: "gpu01", Addr: n.Addr()}, api.NodeStepRequest{})
	if err == nil || !strings.Contains(err.Error(), "names fairway://node/gpu02, want fairway://node/gpu01") {
		t.Errorf("Launch to a server with another node's certificate: %v", err)
	}
	other := steptest.NewCA(t)
	_, err = stepclient.New(other.Pool, nil).Launch(context.Background(), stepclient.Node{Name: "gpu02", Addr: n.Addr()}, api.NodeStepRequest{})
	if err == nil || !strings.Contains(err.Error(), "does not verify under the cluster CA") {
		t.Errorf("Launch with another CA: %v", err)
	}
}

func TestBrokenStreamNamesTheNode(t *testing.T) {
	ca := steptest.NewCA(t)
	n := ca.Node(t, "gpu01", apipki.Node("gpu01"), func(_ context.Context, _ *steptest.Node, _ api.NodeStepRequest, send steptest.Send) {
		send(api.StepFrame{Task: 0, Stream: "stdout", Data: []byte("x")})
	})
	s, err := stepclient.New(ca.Pool, nil).Launch(context.Background(), stepclient.Node{Name: "gpu01", Addr: n.Addr()}, api.NodeStepRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err == nil || !strings.Contains(err.Error(), "node gpu01") || errors.Is(err, io.EOF) {
		t.Errorf("Next after a broken stream: %v", err)
	}
}

func TestSignalAndStdin(t *testing.T) {
	ca := steptest.NewCA(t)
	n := ca.Node(t, "gpu01", apipki.Node("gpu01"), nil)
	c := stepclient.New(ca.Pool, nil)
	node := stepclient.Node{Name: "gpu01", Addr: n.Addr()}
	if err := c.Signal(context.Background(), node, 5, 0, "INT"); err != nil {
		t.Fatal(err)
	}
	if got := <-n.Signals; got != "INT" {
		t.Errorf("signal %q, want INT", got)
	}
	if err := c.Stdin(context.Background(), node, 5, 0, strings.NewReader("line\n")); err != nil {
		t.Fatal(err)
	}
	if got := string(n.Stdin()); got != "line\n" {
		t.Errorf("stdin %q", got)
	}
	if err := c.Signal(context.Background(), stepclient.Node{Name: "gpu09"}, 5, 0, "INT"); err == nil || !strings.Contains(err.Error(), "gpu09: no step server address") {
		t.Errorf("Signal to a node without a step address: %v", err)
	}
}
