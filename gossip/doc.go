// Package gossip implements SWIM group membership with the Lifeguard
// extensions, so that h2rpc members can find each other without a registry.
//
// A Node probes one member per probe period, asks k other members to probe
// for it when a direct ping goes unanswered, suspects members that stay
// silent and declares them dead once the suspicion times out unrefuted.
// Membership updates ride on probe traffic and on a short gossip round; a
// periodic push-pull of full state repairs whatever gossip missed.
//
// Lifeguard makes the detector robust against slow members: a local health
// multiplier stretches our own timeouts when we are the one falling behind,
// suspicion timeouts start long and shrink as independent members confirm
// them, and a member being probed about a suspicion hears of it directly.
//
// Time and the network are injected (Clock, Transport), so the same code runs
// over UDP and TCP (NetTransport) or thousands of members in one process on a
// simulated clock and an in-memory lossy network (SimClock, MemNetwork). The
// wire format is specified in SPEC.md beside this file.
package gossip
