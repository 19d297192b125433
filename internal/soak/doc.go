// Package soak holds a long test of many calls of every kind against
// servers that restart, stop gracefully or hard, and clients that cancel,
// checking that no call acknowledged OK is lost and that resources return
// to their baseline.
package soak
