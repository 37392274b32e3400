// Package testimage builds tiny container images for tests, with no registry:
// one layer holding a static busybox (Debian's busybox-static package, at
// /bin/busybox, with /bin/sh and every applet as a symlink) and, optionally,
// static Go programs built on the fly from source directories.
//
// The image is written as an OCI archive (a tar of an OCI image layout, for
// "oci-archive:PATH") or a docker archive (the format of docker save, for
// "docker-archive:PATH"), or unpacked into a directory (for "dir:ROOTFS").
//
// On Debian: apt-get install -y busybox-static (CI installs it).
package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DefaultBusybox is where Debian's busybox-static installs the binary.
const DefaultBusybox = "/bin/busybox"

// DefaultRef is the image reference recorded in the archives.
const DefaultRef = "fairway.test/busybox:latest"

// GoProgram is a static Go program to build into the image.
type GoProgram struct {
	// Dir is the source directory of a main package (inside a module).
	Dir string
	// Path is where the binary goes in the image, for example "/bin/ckpt".
	Path string
}

// Options describe the image.
type Options struct {
	// Busybox is the static busybox binary; default DefaultBusybox.
	Busybox string
	// Programs are built with CGO_ENABLED=0 and added to the layer.
	Programs []GoProgram
	// Files are extra regular files (path in image -> content), mode 0755.
	Files map[string][]byte
	// Env is the image's environment; default PATH=/usr/local/bin:/usr/bin:/bin.
	Env []string
	// Ref is the reference recorded in the archive; default DefaultRef.
	Ref string
}

// ErrNoBusybox is returned when the busybox binary is missing.
var ErrNoBusybox = errors.New("static busybox not found (apt-get install busybox-static)")

// Image builds the image in memory.
func Image(ctx context.Context, opts Options) (v1.Image, error) {
	layer, err := Layer(ctx, opts)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("test image: %w", err)
	}
	env := opts.Env
	if len(env) == 0 {
		env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("test image: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", goarch()
	cfg.Config.Env = env
	cfg.Config.Cmd = []string{"/bin/sh"}
	cfg.Config.WorkingDir = "/"
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("test image: %w", err)
	}
	return img, nil
}

// Layer builds the image's single layer.
func Layer(ctx context.Context, opts Options) (v1.Layer, error) {
	data, err := layerTar(ctx, opts)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("test image layer: %w", err)
	}
	return layer, nil
}

// BuildOCIArchive writes the image as an OCI archive at path.
func BuildOCIArchive(ctx context.Context, path string, opts Options) error {
	img, err := Image(ctx, opts)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "testimage-layout-")
	if err != nil {
		return fmt.Errorf("oci archive: %w", err)
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("oci archive: %w", err)
	}
	ref := opts.Ref
	if ref == "" {
		ref = DefaultRef
	}
	tag := ref
	if t, err := name.NewTag(ref); err == nil {
		tag = t.TagStr()
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
		"io.containerd.image.name":          ref,
	})); err != nil {
		return fmt.Errorf("oci archive: %w", err)
	}
	if err := tarDir(dir, path); err != nil {
		return fmt.Errorf("oci archive: %w", err)
	}
	return nil
}

// BuildDockerArchive writes the image in docker save format at path.
func BuildDockerArchive(ctx context.Context, path string, opts Options) error {
	img, err := Image(ctx, opts)
	if err != nil {
		return err
	}
	ref := opts.Ref
	if ref == "" {
		ref = DefaultRef
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("docker archive: reference %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return fmt.Errorf("docker archive: %w", err)
	}
	return nil
}

// BuildRootFS unpacks the image's layer into dir (for "dir:" images).
func BuildRootFS(ctx context.Context, dir string, opts Options) error {
	data, err := layerTar(ctx, opts)
	if err != nil {
		return err
	}
	if err := untar(bytes.NewReader(data), dir); err != nil {
		return fmt.Errorf("root fs: %w", err)
	}
	return nil
}

// layerTar returns the uncompressed layer: directories, busybox and its
// applet links, /etc/passwd and /etc/group, the Go programs and extra files.
func layerTar(ctx context.Context, opts Options) ([]byte, error) {
	bb := opts.Busybox
	if bb == "" {
		bb = DefaultBusybox
	}
	busybox, err := os.ReadFile(bb)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", bb, ErrNoBusybox)
		}
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	out, err := exec.CommandContext(ctx, bb, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	applets := strings.Fields(string(out))

	files := map[string][]byte{
		"/etc/passwd": []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"),
		"/etc/group":  []byte("root:x:0:\nnogroup:x:65534:\n"),
	}
	for _, p := range opts.Programs {
		bin, err := buildGo(ctx, p.Dir)
		if err != nil {
			return nil, err
		}
		files[p.Path] = bin
	}
	for p, b := range opts.Files {
		files[p] = b
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dirs := map[string]bool{}
	addDir := func(d string, mode int64) error {
		if d == "/" || dirs[d] {
			return nil
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: mode, ModTime: mtime})
	}
	for _, d := range []string{"/bin", "/dev", "/etc", "/proc", "/sys", "/root", "/usr", "/usr/bin", "/usr/local", "/usr/local/bin", "/var"} {
		if err := addDir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := addDir("/tmp", 0o1777); err != nil {
		return nil, err
	}
	if err := addDir("/var/tmp", 0o1777); err != nil {
		return nil, err
	}
	addFile := func(p string, b []byte, mode int64) error {
		var parents []string
		for d := path.Dir(p); d != "/" && !dirs[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := addDir(d, 0o755); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"), Mode: mode, Size: int64(len(b)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := addFile("/bin/busybox", busybox, 0o755); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "usr/bin/env", Linkname: "/bin/busybox", Mode: 0o777, ModTime: mtime}); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		mode := int64(0o755)
		if strings.HasPrefix(p, "/etc/") {
			mode = 0o644
		}
		if err := addFile(p, files[p], mode); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}

// buildGo builds a static binary from the main package in dir.
func buildGo(ctx context.Context, dir string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "testimage-go-")
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "prog")
	goBin := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		goBin = filepath.Join(root, "bin", "go")
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch())
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %w: %s", dir, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", dir, err)
	}
	return b, nil
}

// tarDir writes the files below dir into a tar archive at dst, in a stable
// order, with names relative to dir.
func tarDir(dir, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// untar extracts a layer tar (directories, regular files, symlinks) into dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+hdr.Name)))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, os.FileMode(hdr.Mode)&os.ModePerm); err != nil {
				return err
			}
			if err := os.Chmod(target, os.FileMode(hdr.Mode)&os.ModePerm|modeSticky(hdr.Mode)); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(hdr.Mode)&os.ModePerm)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.Remove(target)
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		}
	}
}

func goarch() string { return runtime.GOARCH }

func modeSticky(mode int64) os.FileMode {
	if mode&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}
