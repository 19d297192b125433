package bench

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"time"
)

// Spec is a run described for another process: `h2rpc bench --compare`
// hands it to the grpc-go client program of the comparison module, which
// runs it with this package's generator over grpc-go's client.
type Spec struct {
	Target      string        `json:"target"`
	Call        string        `json:"call"`
	Method      string        `json:"method"`
	Kind        string        `json:"kind"`
	Requests    []string      `json:"requests"` // base64 of each encoded message
	Concurrency int           `json:"concurrency"`
	Connections int           `json:"connections"`
	Total       uint64        `json:"total,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
	Warmup      time.Duration `json:"warmup,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	Rate        float64       `json:"rate,omitempty"`
	Insecure    bool          `json:"insecure"`
	CACert      string        `json:"cacert,omitempty"`
	Cert        string        `json:"cert,omitempty"`
	Key         string        `json:"key,omitempty"`
	ServerName  string        `json:"serverName,omitempty"`
	SkipVerify  bool          `json:"skipVerify,omitempty"`
	Metadata    [][2]string   `json:"metadata,omitempty"`

	StreamCount    int           `json:"streamCount,omitempty"`
	StreamInterval time.Duration `json:"streamInterval,omitempty"`
}

// Config returns the run the spec describes.
func (s *Spec) Config() (Config, error) {
	cfg := Config{
		Workload:    Workload{Method: s.Method, Timeout: s.Timeout, StreamCount: s.StreamCount, StreamInterval: s.StreamInterval},
		Concurrency: s.Concurrency, Connections: s.Connections, Total: s.Total, Duration: s.Duration, Warmup: s.Warmup,
	}
	found := false
	for k := Unary; k <= BidiStream; k++ {
		if k.String() == s.Kind {
			cfg.Kind, found = k, true
		}
	}
	if !found {
		return cfg, fmt.Errorf("spec: unknown kind %q", s.Kind)
	}
	for i, r := range s.Requests {
		b, err := base64.StdEncoding.DecodeString(r)
		if err != nil {
			return cfg, fmt.Errorf("spec: request %d: %v", i, err)
		}
		cfg.Requests = append(cfg.Requests, b)
	}
	if s.Rate > 0 {
		cfg.Rate = ConstRate(s.Rate)
	}
	return cfg, cfg.check()
}

// TLSConfig returns the spec's TLS settings, nil for h2c.
func (s *Spec) TLSConfig() (*tls.Config, error) {
	if s.Insecure {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: s.ServerName, InsecureSkipVerify: s.SkipVerify, NextProtos: []string{"h2"}}
	if s.CACert != "" {
		pem, err := os.ReadFile(s.CACert)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", s.CACert)
		}
	}
	if s.Cert != "" {
		c, err := tls.LoadX509KeyPair(s.Cert, s.Key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
