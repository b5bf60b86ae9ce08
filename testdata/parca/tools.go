//go:build tools

// Package tools makes the Parca server a dependency of this harness module.
package tools

import _ "github.com/parca-dev/parca/cmd/parca"
