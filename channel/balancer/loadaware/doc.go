// Package loadaware implements the load_aware balancing policy: it weighs
// each READY server by the load it reports through its resolver (calls
// finished per second over utilisation, as gRFC A58's weighted round robin
// does, with its blackout and expiry rules), with no extra stream to the
// servers. The gossip:/// resolver fills the reports from the load every
// announced server gossips; SetLoad lets any resolver do the same.
package loadaware
