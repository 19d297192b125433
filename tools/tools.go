//go:build tools

// Package tools pins the versions of the external programs that the
// Makefile builds into .tools/bin, with their dependencies fixed by go.sum.
// It is a module of its own so the core module never depends on them.
package tools

import (
	_ "github.com/summerwind/h2spec/cmd/h2spec"
	_ "google.golang.org/protobuf/cmd/protoc-gen-go"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
