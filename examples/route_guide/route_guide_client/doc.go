// Command route_guide_client makes a call of each kind to a RouteGuide
// server: GetFeature at a known point and at an empty one, ListFeatures in
// a rectangle, RecordRoute along the places of the database that package
// guide embeds, and RouteChat with notes that meet at shared points. It
// prints what the server answers and exits 1 on the first error.
package main
