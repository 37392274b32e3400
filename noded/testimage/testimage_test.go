package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func requireBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(DefaultBusybox); err != nil {
		t.Skipf("%s missing (apt-get install busybox-static): %v", DefaultBusybox, err)
	}
}

// layerNames lists the entries of an image's only layer.
func layerNames(t *testing.T, rc io.ReadCloser) map[string]*tar.Header {
	t.Helper()
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func TestOCIArchiveHoldsBusyboxAndProgram(t *testing.T) {
	requireBusybox(t)
	ctx := context.Background()
	src := t.TempDir()
	writeProgram(t, src, `package main

import "fmt"

func main() { fmt.Println("hello from go") }
`)
	dir := t.TempDir()
	archive := filepath.Join(dir, "img.tar")
	err := BuildOCIArchive(ctx, archive, Options{
		Programs: []GoProgram{{Dir: src, Path: "/usr/local/bin/hello"}},
		Files:    map[string][]byte{"/opt/data.txt": []byte("data")},
	})
	if err != nil {
		t.Fatal(err)
	}

	// The archive is an OCI layout: unpack it and read the image back.
	layoutDir := filepath.Join(dir, "layout")
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := untar(f, layoutDir); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	man, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(man.Manifests))
	}
	if got := man.Manifests[0].Annotations["io.containerd.image.name"]; got != DefaultRef {
		t.Errorf("image name annotation = %q, want %q", got, DefaultRef)
	}
	img, err := idx.Image(man.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	entries := layerNames(t, rc)
	for _, want := range []string{"bin/busybox", "bin/sh", "bin/sleep", "usr/local/bin/hello", "opt/data.txt", "tmp/", "etc/passwd"} {
		if entries[want] == nil {
			t.Errorf("layer lacks %s", want)
		}
	}
	if h := entries["bin/sh"]; h != nil && (h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox") {
		t.Errorf("bin/sh is %c -> %q, want a symlink to busybox", h.Typeflag, h.Linkname)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, cfg.Config.Env); diff != "" {
		t.Errorf("image env (-want +got):\n%s", diff)
	}
}

func TestDockerArchiveReadsBack(t *testing.T) {
	requireBusybox(t)
	archive := filepath.Join(t.TempDir(), "img.tar")
	if err := BuildDockerArchive(context.Background(), archive, Options{Ref: "example.com/t/busy:v1"}); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(archive) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != "example.com/t/busy:v1" {
		t.Fatalf("docker manifest = %+v, want one image tagged example.com/t/busy:v1", m)
	}
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
}

func TestRootFSRunsBusybox(t *testing.T) {
	requireBusybox(t)
	dir := t.TempDir()
	if err := BuildRootFS(context.Background(), dir, Options{}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(dir, "bin", "sh"), "-c", "echo hi; ls /").CombinedOutput()
	if err != nil {
		t.Fatalf("rootfs sh: %v: %s", err, out)
	}
	if !strings.HasPrefix(string(out), "hi\n") {
		t.Errorf("rootfs sh printed %q", out)
	}
	fi, err := os.Stat(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("/tmp mode = %v, want drwxrwxrwt", fi.Mode())
	}
}

func TestMissingBusybox(t *testing.T) {
	err := BuildOCIArchive(context.Background(), filepath.Join(t.TempDir(), "x.tar"), Options{Busybox: "/nonexistent/busybox"})
	if !errors.Is(err, ErrNoBusybox) {
		t.Errorf("error = %v, want ErrNoBusybox", err)
	}
}

func TestLayerIsReproducible(t *testing.T) {
	requireBusybox(t)
	ctx := context.Background()
	a, err := layerTar(ctx, Options{Files: map[string][]byte{"/b": {1}, "/a/c": {2}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := layerTar(ctx, Options{Files: map[string][]byte{"/a/c": {2}, "/b": {1}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same image differ")
	}
	var names []string
	for n := range layerNames(t, io.NopCloser(bytes.NewReader(a))) {
		names = append(names, n)
	}
	sort.Strings(names)
	if i := sort.SearchStrings(names, "a/"); i == len(names) || names[i] != "a/" {
		t.Errorf("parent directory a/ of /a/c missing from layer")
	}
}

func writeProgram(t *testing.T, dir, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}
