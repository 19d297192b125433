// Package routeguide is the generated code of the RouteGuide service, from
// a .proto in edition 2023.
package routeguide
