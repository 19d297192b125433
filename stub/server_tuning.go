package stub

// InitialWindowSize sets the receive window of each stream of the server's
// connections; values below 64 KiB are ignored, and a set window stops
// growing with the measured bandwidth, as in grpc-go.
func InitialWindowSize(n int32) ServerOption {
	return func(o *serverOptions) {
		if n >= 64<<10 {
			o.tuning = append(o.tuning, func(s *Server) {
				s.cfg.Conn.InitialWindowSize, s.cfg.Conn.DisableBDP = uint32(n), true
			})
		}
	}
}

// InitialConnWindowSize sets the receive window of each connection, as
// InitialWindowSize does for streams.
func InitialConnWindowSize(n int32) ServerOption {
	return func(o *serverOptions) {
		if n >= 64<<10 {
			o.tuning = append(o.tuning, func(s *Server) {
				s.cfg.Conn.InitialConnWindowSize, s.cfg.Conn.DisableBDP = uint32(n), true
			})
		}
	}
}

// MaxHeaderListSize sets the largest request header list accepted
// (SETTINGS_MAX_HEADER_LIST_SIZE; default 64 KiB).
func MaxHeaderListSize(n uint32) ServerOption {
	return func(o *serverOptions) {
		o.tuning = append(o.tuning, func(s *Server) { s.cfg.Conn.MaxHeaderListSize = n })
	}
}

// ReadBufferSize sets the size of the buffer each read of a connection
// fills (default 32 KiB).
func ReadBufferSize(n int) ServerOption {
	return func(o *serverOptions) {
		o.tuning = append(o.tuning, func(s *Server) { s.cfg.Conn.ReadBufferSize = n })
	}
}

// WriteBufferSize sets how many bytes may wait to be written on a
// connection before handlers wait for it to drain (default 256 KiB).
func WriteBufferSize(n int) ServerOption {
	return func(o *serverOptions) {
		o.tuning = append(o.tuning, func(s *Server) { s.cfg.Conn.WriteBufferSize = n })
	}
}
