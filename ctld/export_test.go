package ctld

import "net/http"

// WithIdentity makes the controller identify callers with f: tests act as
// different users with it.
func WithIdentity(cfg *Config, f func(*http.Request) Identity) { cfg.identify = f }
