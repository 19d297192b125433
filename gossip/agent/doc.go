// Package agent runs one gossip member over UDP and TCP and reports its
// membership events as lines of text, for the h2rpc gossip agent command.
package agent
