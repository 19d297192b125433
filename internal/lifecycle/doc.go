// Package lifecycle runs randomized call lifecycles over a layer of the
// stack: calls of the four kinds with faults injected at random points
// against their completion, each call's result checked against what the
// fault allows.
package lifecycle
