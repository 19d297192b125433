// Package routeguide shows grpc-go's route guide on h2rpc, with one method
// of each call kind: its .proto, written in edition 2023, and the generated
// code are in the routeguide subpackage, the service in package guide, and
// route_guide_server and route_guide_client are the two sides.
package routeguide
