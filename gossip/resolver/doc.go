// Package resolver resolves targets of the scheme gossip, such as
// gossip:///helloworld.Greeter, to the live members of a gossip cluster
// that offer the service, from the membership events a gossip node pushes:
// joins, updates, suspicions, deaths and departures reach the balancer at
// once. Suspected members stay in the list marked last resort (picked
// only when nothing healthier is left); dead, departed and not-serving
// members leave it, which closes their connections. The load each member
// announces reaches the load_aware policy.
package resolver
