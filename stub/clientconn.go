package stub

// ClientConn is a client's connection to a server, shared by all the calls
// and generated clients that use it.
type ClientConn struct{}
