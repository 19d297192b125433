// Package leaktest fails a test that leaves goroutines behind.
package leaktest
