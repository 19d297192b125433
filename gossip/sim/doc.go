// Package sim runs gossip membership scenarios on a simulated clock and an
// in-memory network and measures how the detector behaves: detection time,
// false positives, convergence after a mass join, and traffic.
package sim
