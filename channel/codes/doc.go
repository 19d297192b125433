// Package codes defines the canonical gRPC status codes.
package codes
