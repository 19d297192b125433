// Package layers holds the test that keeps the module layered: each
// package imports only the layers below it, test helpers only from tests,
// and the module depends on nothing but the standard library, golang.org/x/net
// (with golang.org/x/text) and google.golang.org/protobuf. Its table is the
// written form of the layer diagram.
package layers
