package headers

import "strings"

// kind says what a header name is to gRPC.
type kind uint8

const (
	// metadata is a user's custom header: sent and shown as is.
	metadata kind = iota
	// protocol names are written and read by the gRPC layer itself, or are
	// HTTP/2 pseudo-headers.
	protocol
	// agent is user-agent: the gRPC layer writes it, and receivers show it
	// to users as metadata, as grpc-go does.
	agent
	// connection names are the connection-specific headers that HTTP/2
	// forbids (RFC 9113 §8.2.2), and host, which HTTP/2 carries as
	// :authority.
	connection
)

// kindOf is the table: it returns the kind of a lowercase header name. A
// switch, rather than rows of data, because servers consult it for every
// field of every request.
func kindOf(name string) kind {
	// Pseudo-headers (":method", ":path", ":authority", ":status"…), and
	// grpc-timeout, grpc-encoding, grpc-accept-encoding, grpc-status,
	// grpc-message, grpc-status-details-bin and every future grpc- key.
	if strings.HasPrefix(name, ":") || strings.HasPrefix(name, "grpc-") {
		switch name {
		case "grpc-previous-rpc-attempts", "grpc-retry-pushback-ms":
			// gRFC A6's: set and read through metadata (a server's
			// handler pushes back with a trailer), as in grpc-go.
			return metadata
		}
		return protocol
	}
	switch name {
	case "content-type", "te":
		return protocol
	case "user-agent":
		return agent
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade", "host":
		return connection
	}
	return metadata
}

// Reserved reports whether name, in lowercase, belongs to gRPC or HTTP/2, so
// that users must not send it as metadata.
func Reserved(name string) bool {
	return kindOf(name) != metadata
}

// Visible reports whether a received header field named name, in
// lowercase, is shown to users as metadata: user metadata and user-agent.
// Pseudo-headers are not (a server adds the request's :authority itself),
// and a field without a name never is.
func Visible(name string) bool {
	k := kindOf(name)
	return name != "" && (k == metadata || k == agent)
}
