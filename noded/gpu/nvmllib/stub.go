//go:build !cgo || nonvml

package nvmllib

import (
	"errors"

	"github.com/fairway-hpc/fairway/noded/gpu"
)

// Built reports whether NVML support is compiled in.
const Built = false

// ErrNotBuilt is returned by Open in a build without NVML support.
var ErrNotBuilt = errors.New("NVML support is not built in (built with CGO_ENABLED=0 or the nonvml tag)")

// Open always fails: this build has no NVML support.
func Open([]string) (gpu.Lib, error) { return nil, ErrNotBuilt }
