// Package headers is the one table of the header names that gRPC and HTTP/2
// own, which are therefore not user metadata, and says which of them a
// receiver shows to users.
package headers
