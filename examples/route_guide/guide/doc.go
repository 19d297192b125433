// Package guide implements the RouteGuide service over a database of
// features: points that have a name. A database is a JSON array of
// features in protobuf's JSON mapping; the package embeds a small one.
package guide
