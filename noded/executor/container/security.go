package container

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/fairway-hpc/fairway/noded/executor"
)

// withUnprivileged confines the job of a user other than root: no
// capabilities in any set, no_new_privs (setuid binaries in the image do not
// raise privileges), and containerd's default seccomp profile, computed for
// the empty capability sets. A root job (uid 0) keeps containerd's default
// spec, as before.
func withUnprivileged(uid int) oci.SpecOpts {
	return func(ctx context.Context, c oci.Client, ctr *containers.Container, s *oci.Spec) error {
		if uid == 0 {
			return nil
		}
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: []string{}, Effective: []string{}, Permitted: []string{},
			Inheritable: []string{}, Ambient: []string{},
		}
		s.Process.NoNewPrivileges = true
		return seccomp.WithDefaultProfile()(ctx, c, ctr, s)
	}
}

// mountAllowed reports whether source lies under one of the administrator's
// allowed prefixes (Config.MountAllow), which any job may mount.
func mountAllowed(allow []string, source string) bool {
	source = filepath.Clean(source)
	for _, p := range allow {
		p = filepath.Clean(p)
		if source == p || strings.HasPrefix(source, p+"/") || p == "/" {
			return true
		}
	}
	return false
}

// checkMountsScript exits 1 naming the first argument the caller cannot
// read (a directory: read and search).
const checkMountsScript = `for f; do
if [ -d "$f" ]; then [ -r "$f" ] && [ -x "$f" ] || { echo "$f"; exit 1; }
else [ -r "$f" ] || { echo "$f"; exit 1; }; fi
done`

// checkMounts refuses --container-mounts sources the job's user could not
// read on the host (the bind mount would otherwise hand them over, past
// directories the user cannot search), unless they lie under an allowed
// prefix. Root jobs mount anything. The check runs a helper as the user,
// with the job's groups, so permissions, ACLs and path traversal are
// judged by the kernel.
func (e *Executor) checkMounts(ctx context.Context, spec executor.Spec) error {
	if spec.UID == 0 {
		return nil
	}
	var check []string
	for _, m := range spec.Mounts {
		if !mountAllowed(e.cfg.MountAllow, m.Source) {
			check = append(check, m.Source)
		}
	}
	if len(check) == 0 {
		return nil
	}
	out, err := e.asUser(ctx, spec, checkMountsScript, check...)
	if err != nil {
		src := strings.TrimSpace(string(out))
		if src == "" {
			src = strings.Join(check, ", ")
		}
		return fmt.Errorf("--container-mounts: uid %d cannot read %s on node %s: a job may mount only what its user can read (or what the node's --mount-allow lists): %w", spec.UID, src, spec.Node, err)
	}
	return nil
}

// asUser runs a shell script on the host as the job's user and groups and
// returns its combined output.
func (e *Executor) asUser(ctx context.Context, spec executor.Spec, script string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, e.cfg.Shell, append([]string{"-c", script, "fairway-check"}, args...)...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	groups := make([]uint32, len(spec.Groups))
	for i, g := range spec.Groups {
		groups[i] = uint32(g)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(spec.UID), Gid: uint32(spec.GID), Groups: groups},
	}
	return cmd.CombinedOutput()
}
