// Package nvmllib implements gpu.Lib over NVIDIA's NVML through
// github.com/NVIDIA/go-nvml.
//
// go-nvml needs cgo (it loads libnvidia-ml.so.1 with dlopen at run time, so
// the binary has no link-time dependency on the driver and runs on machines
// without one). The implementation is built whenever cgo is (the default
// where a C compiler exists: CGO_CFLAGS=-Wno-deprecated-declarations quiets
// the deprecation warnings of NVML's header, as the Makefile sets it); a
// build with CGO_ENABLED=0, or with the build tag "nonvml", gets a stub whose
// Open says NVML is not built in, and the node daemon then has only the GPUs
// its configuration declares. The package's tests and the node daemon's GPU
// tests drive the real adapter with go-nvml's mock servers (pkg/nvml/mock,
// through the nvmltest subpackage), so they too need cgo.
package nvmllib
