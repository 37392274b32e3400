//go:build e2e

package mungetest

// requireMunged is true under the e2e build tag: tests fail without munged.
const requireMunged = true
