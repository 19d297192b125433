// Package testpb is the generated code of a small test service that the
// stub package and the code generator are tested with.
package testpb
