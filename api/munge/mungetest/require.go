//go:build !e2e

package mungetest

// requireMunged is false outside the e2e build: tests skip without munged.
const requireMunged = false
