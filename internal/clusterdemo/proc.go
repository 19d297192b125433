package clusterdemo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Launcher makes the command that runs one server process with the given
// server flags (--name, --rpc, --gossip, --join, ...).
type Launcher func(flags ...string) *exec.Cmd

// Proc is one server process.
type Proc struct {
	Name   string
	RPC    string // the address it serves RPCs on
	Gossip string // its gossip address
	cmd    *exec.Cmd
	done   chan error
	stderr strings.Builder
}

// StartServer starts a server process called name that joins join, and
// waits until it says it is serving.
func StartServer(launch Launcher, name string, join string, extra ...string) (*Proc, error) {
	flags := append([]string{"--name", name, "--rpc", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--join", join}, extra...)
	cmd := launch(flags...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan error, 1)}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %v", name, err)
	}
	lines := bufio.NewReader(out)
	ready := make(chan error, 1)
	go func() {
		line, err := lines.ReadString('\n')
		if err == nil {
			_, err = fmt.Sscanf(strings.TrimSpace(line), "ready "+name+" rpc=%s gossip=%s", &p.RPC, &p.Gossip)
		}
		ready <- err
		io.Copy(io.Discard, lines)
		p.done <- cmd.Wait()
	}()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			return nil, fmt.Errorf("server %s did not start: %v: %s", name, err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("server %s did not say it was serving within 20 s", name)
	}
	return p, nil
}

func (p *Proc) signal(s syscall.Signal) error { return p.cmd.Process.Signal(s) }

// Freeze stops the process with SIGSTOP: its sockets stay open, it
// answers nothing.
func (p *Proc) Freeze() error { return p.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen process.
func (p *Proc) Thaw() error { return p.signal(syscall.SIGCONT) }

// Kill ends the process with SIGKILL.
func (p *Proc) Kill() error { return p.signal(syscall.SIGKILL) }

// Leave asks the process to stop gracefully (SIGTERM): it leaves the
// cluster, waits, drains and exits.
func (p *Proc) Leave() error { return p.signal(syscall.SIGTERM) }

// Wait waits up to d for the process to exit.
func (p *Proc) Wait(d time.Duration) error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(d):
		return errors.New("server " + p.Name + " still running")
	}
}

// Close kills the process, frozen or not, and waits for it.
func (p *Proc) Close() {
	p.Kill()
	p.Thaw()
	p.Wait(10 * time.Second)
}
