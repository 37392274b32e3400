package container

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
)

func (e *Executor) image(ctx context.Context, src string) (client.Image, string, error) {
	kind, arg, _ := strings.Cut(src, ":")
	switch kind {
	case "dir":
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, "", fmt.Errorf("container image %s: %w", src, err)
		}
		if !fi.IsDir() {
			return nil, "", fmt.Errorf("container image %s: not a directory", src)
		}
		return nil, arg, nil
	case "oci-archive", "docker-archive":
		img, err := e.importArchive(ctx, src, arg)
		return img, "", err
	}
	img, err := e.pull(ctx, src)
	return img, "", err
}

func (e *Executor) lockSource(src string) func() {
	e.mu.Lock()
	m, ok := e.imports[src]
	if !ok {
		m = &sync.Mutex{}
		e.imports[src] = m
	}
	e.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// labelArchive, on an imported image, records the size and modification time
// of the archive it came from, so an unchanged archive is not imported again.
const labelArchive = "fairway.archive"

// importArchive imports an archive under the image name src (so the same
// archive is found again) and unpacks it. An archive imported before and not
// changed since is not read again.
func (e *Executor) importArchive(ctx context.Context, src, file string) (client.Image, error) {
	defer e.lockSource(src)()
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("container image %s: %w", src, err)
	}
	stamp := fmt.Sprintf("size=%d,mtime=%d", fi.Size(), fi.ModTime().UnixNano())
	if img, err := e.client.GetImage(ctx, src); err == nil && img.Labels()[labelArchive] == stamp {
		if err := e.unpack(ctx, src, img); err != nil {
			return nil, err
		}
		return img, nil
	}
	var imgs []images.Image
	for attempt := 0; ; attempt++ {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("container image %s: %w", src, err)
		}
		imgs, err = e.client.Import(ctx, f,
			client.WithIndexName(src),
			client.WithImageLabels(map[string]string{labelArchive: stamp}),
			client.WithImageRefTranslator(func(string) string { return "" }))
		f.Close()
		if err == nil {
			break
		}
		// Another daemon sharing this containerd may have created the
		// image name at the same moment: the second try updates it.
		if !errdefs.IsAlreadyExists(err) || attempt > 0 {
			return nil, fmt.Errorf("container image %s: import: %w", src, err)
		}
	}
	for _, im := range imgs {
		if im.Name == src {
			img := client.NewImage(e.client, im)
			if err := e.unpack(ctx, src, img); err != nil {
				return nil, err
			}
			return img, nil
		}
	}
	return nil, fmt.Errorf("container image %s: import created no image", src)
}

func (e *Executor) pull(ctx context.Context, ref string) (client.Image, error) {
	defer e.lockSource(ref)()
	img, err := e.client.GetImage(ctx, ref)
	if err != nil {
		if !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("container image %s: %w", ref, err)
		}
		img, err = e.client.Pull(ctx, ref, client.WithPullUnpack, client.WithPullSnapshotter(e.cfg.Snapshotter))
		if err != nil {
			return nil, fmt.Errorf("container image %s: pull: %w", ref, err)
		}
	}
	if err := e.unpack(ctx, ref, img); err != nil {
		return nil, err
	}
	return img, nil
}

func (e *Executor) unpack(ctx context.Context, src string, img client.Image) error {
	ok, err := img.IsUnpacked(ctx, e.cfg.Snapshotter)
	if err != nil {
		return fmt.Errorf("container image %s: %w", src, err)
	}
	if ok {
		return nil
	}
	if err := img.Unpack(ctx, e.cfg.Snapshotter); err != nil {
		return fmt.Errorf("container image %s: unpack: %w", src, err)
	}
	return nil
}

// checkOutputs creates the output files as the job's user (so they belong
// to the user and the user's permissions apply) before containerd's shim,
// which runs as root, opens them for appending.
