package agent

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/gossip"
)

// Options configure an agent.
type Options struct {
	// Bind is the UDP and TCP address, host:port.
	Bind string
	// Join lists members to contact at start; empty starts a new cluster.
	Join []string
	// Name is the member name; the bound address if empty.
	Name string
	// Meta is the member's metadata.
	Meta map[string]string
	// Label is the cluster label.
	Label string
	// KeyringFile, if set, holds base64 AES-256 keys, one a line, the
	// primary first; it is read at start and again on every Reload.
	KeyringFile string
	// Preset is "lan", "wan" or "local".
	Preset string
	// Out receives one line per event.
	Out io.Writer
	// Reload, when it receives, rereads KeyringFile.
	Reload <-chan struct{}
}

// Preset returns the configuration preset of the given name.
func Preset(name string) (gossip.Config, error) {
	switch strings.ToLower(name) {
	case "", "lan":
		return gossip.LAN(), nil
	case "wan":
		return gossip.WAN(), nil
	case "local":
		return gossip.Local(), nil
	}
	return gossip.Config{}, fmt.Errorf("unknown preset %q: want lan, wan or local", name)
}

// ParseMeta parses key=value pairs.
func ParseMeta(pairs []string) (map[string]string, error) {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("metadata %q: want key=value", p)
		}
		m[k] = v
	}
	return m, nil
}

// ReadKeys reads a keyring file: base64 keys, one a line, primary first.
func ReadKeys(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if len(k) != gossip.KeySize {
			return nil, fmt.Errorf("%s: key is %d bytes, want %d", path, len(k), gossip.KeySize)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys", path)
	}
	return keys, nil
}

// applyKeys makes the keyring hold exactly keys, keys[0] primary, in an
// order that never leaves it without a key the cluster uses.
func applyKeys(k *gossip.Keyring, keys [][]byte) error {
	for _, key := range keys {
		if err := k.AddKey(key); err != nil {
			return err
		}
	}
	if err := k.UseKey(keys[0]); err != nil {
		return err
	}
	want := make(map[string]bool, len(keys))
	for _, key := range keys {
		want[string(key)] = true
	}
	for _, have := range k.Keys() {
		if !want[string(have)] {
			if err := k.RemoveKey(have); err != nil {
				return err
			}
		}
	}
	return nil
}

// printer writes event lines one at a time.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func metaString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, m[k])
	}
	return b.String()
}

// Run runs the agent until ctx is done, then leaves the cluster.
func Run(ctx context.Context, o Options) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	cfg, err := Preset(o.Preset)
	if err != nil {
		return err
	}
	if o.Bind == "" {
		return errors.New("--bind is required, for example --bind 127.0.0.1:7946")
	}
	var keyring *gossip.Keyring
	if o.KeyringFile != "" {
		keys, err := ReadKeys(o.KeyringFile)
		if err != nil {
			return err
		}
		if keyring, err = gossip.NewKeyring(keys[0], keys[1:]...); err != nil {
			return err
		}
	}
	tr, err := gossip.NewNetTransport(gossip.NetConfig{Bind: o.Bind, StreamTimeout: cfg.StreamTimeout})
	if err != nil {
		return err
	}
	p := &printer{w: o.Out}
	cfg.Name = o.Name
	if cfg.Name == "" {
		cfg.Name = tr.Addr()
	}
	cfg.Meta = o.Meta
	cfg.Label = o.Label
	cfg.Keyring = keyring
	cfg.Transport = tr
	cfg.OnEvent = func(e gossip.Event) {
		m := e.Member
		p.line("%s %s %s inc=%d%s", e.Type, m.Name, m.Addr, m.Incarnation, metaString(m.Meta))
	}
	n, err := gossip.New(cfg)
	if err != nil {
		tr.Close()
		return err
	}
	p.line("agent %s %s inc=%d", n.Name(), n.Addr(), n.Incarnation())
	if len(o.Join) > 0 {
		joined, err := n.Join(o.Join)
		if err != nil {
			p.line("join failed: %v (retrying in the background)", err)
		} else {
			p.line("joined %d of %d", joined, len(o.Join))
		}
	}
	retry := time.NewTicker(cfg.ReconnectInterval)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			n.Leave()
			time.Sleep(2 * cfg.GossipInterval)
			return n.Shutdown()
		case <-o.Reload:
			if keyring == nil {
				p.line("reload: no keyring file")
				continue
			}
			keys, err := ReadKeys(o.KeyringFile)
			if err == nil {
				err = applyKeys(keyring, keys)
			}
			if err != nil {
				p.line("reload failed: %v", err)
				continue
			}
			p.line("keyring reloaded: %d keys", len(keys))
		case <-retry.C:
			// Alone with join addresses: try them again, so an agent
			// started before its seeds finds them.
			if n.NumAlive() == 1 && len(o.Join) > 0 {
				n.JoinAsync(o.Join, nil)
			}
		}
	}
}
