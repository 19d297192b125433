package dns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// Where gRFC A2 (service config via DNS) puts a host's service config: a
// TXT record of the host's name with configPrefix before it, whose text
// is configAttribute followed by a JSON array of choices.
const (
	configPrefix    = "_grpc_config."
	configAttribute = "grpc_config="
	// language is this client's name in a choice's clientLanguage.
	language = "go"
)

// serviceConfig returns the service config of the host's TXT records,
// txts: parsed by the channel from the serviceConfig of the first choice
// that applies to this client, in the first record whose text begins with
// configAttribute. It is nil when no record does or no choice applies,
// and an error when that record's value is not a valid array of choices,
// so that the channel keeps the config it has (gRFC A21).
func (r *dnsResolver) serviceConfig(txts []string) *serviceconfig.ParseResult {
	for _, t := range txts {
		value, ok := strings.CutPrefix(t, configAttribute)
		if !ok {
			continue
		}
		js, err := chooseServiceConfig(value, r.client)
		if err != nil {
			return &serviceconfig.ParseResult{Err: fmt.Errorf("dns: TXT record %s%s: %v", configPrefix, r.host, err)}
		}
		if js == nil {
			return nil
		}
		return r.cc.ParseServiceConfig(string(js))
	}
	return nil
}

// isLocalhost reports whether host is localhost or a name under it, for
// which no query goes to a DNS server (RFC 6761 §6.3): its TXT record is
// not looked up.
func isLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// client is what a service config choice is matched against.
type client struct {
	// hostname is the system's host name; "" when it is not known, and
	// then no clientHostname list holds it.
	hostname string
	// roll is a number from 0 to 99, drawn once per resolver: a choice
	// with a percentage applies when roll is below it.
	roll int
}

// choice is one service config choice of gRFC A2, as parsed.
type choice struct {
	languages  []string // clientLanguage; empty: every language
	percentage int      // -1 when absent
	hostnames  []string // clientHostname; empty: every host
	config     json.RawMessage
}

// appliesTo reports whether every criterion of ch holds for c.
func (ch *choice) appliesTo(c client) bool {
	if len(ch.languages) > 0 && !slices.ContainsFunc(ch.languages, isLanguage) {
		return false
	}
	if len(ch.hostnames) > 0 && (c.hostname == "" || !slices.Contains(ch.hostnames, c.hostname)) {
		return false
	}
	return ch.percentage < 0 || c.roll < ch.percentage
}

// isLanguage reports whether a clientLanguage entry names this client's
// language; case does not matter.
func isLanguage(l string) bool { return strings.EqualFold(l, language) }

// chooseServiceConfig parses value, the text after configAttribute, and
// returns the serviceConfig object of the first choice that applies to c,
// or nil when none does. A value that is not a JSON array of valid
// choices is an error, whichever choice would have applied: gRFC A2
// discards the whole record then. A choice is valid when it is an object
// with a serviceConfig object and, optionally, a clientLanguage and a
// clientHostname list of strings and an integer percentage from 0 to 100,
// each at most once, and no other field; a criterion that is absent,
// null or an empty list applies to every client.
func chooseServiceConfig(value string, c client) (json.RawMessage, error) {
	v := bytes.TrimLeft([]byte(value), " \t\r\n")
	if len(v) == 0 || v[0] != '[' {
		return nil, errors.New("not a JSON array of service config choices")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		return nil, fmt.Errorf("not a JSON array of service config choices: %v", err)
	}
	var chosen json.RawMessage
	for i, raw := range raws {
		ch, err := parseChoice(raw)
		if err != nil {
			return nil, fmt.Errorf("service config choice %d: %v", i, err)
		}
		if chosen == nil && ch.appliesTo(c) {
			chosen = ch.config
		}
	}
	return chosen, nil
}

// parseChoice parses one element of the array of choices.
func parseChoice(raw json.RawMessage) (*choice, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	ch := &choice{percentage: -1}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // an object's keys are strings, or Token fails
		var val json.RawMessage
		if err := d.Decode(&val); err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("field %q appears twice", key)
		}
		seen[key] = true
		switch key {
		case "clientLanguage":
			ch.languages, err = stringList(val)
		case "clientHostname":
			ch.hostnames, err = stringList(val)
		case "percentage":
			ch.percentage, err = percentage(val)
		case "serviceConfig":
			if val[0] != '{' {
				err = errors.New("is not a JSON object")
			}
			ch.config = val
		default:
			err = errors.New("is not a field of a service config choice")
		}
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", key, err)
		}
	}
	if ch.config == nil {
		return nil, errors.New("no serviceConfig")
	}
	return ch, nil
}

// stringList parses a JSON array of strings, or null (an empty list).
func stringList(val json.RawMessage) ([]string, error) {
	if val[0] != '[' && string(val) != "null" {
		return nil, errors.New("is not a list of strings")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(val, &elems); err != nil {
		return nil, err
	}
	list := make([]string, len(elems))
	for i, e := range elems {
		if e[0] != '"' {
			return nil, fmt.Errorf("element %d is not a string", i)
		}
		if err := json.Unmarshal(e, &list[i]); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// percentage parses an integer from 0 to 100 written without a fraction,
// an exponent or leading zeros, as gRFC A2 requires, or null (-1, no
// criterion).
func percentage(val json.RawMessage) (int, error) {
	s := string(val)
	if s == "null" {
		return -1, nil
	}
	bad := fmt.Errorf("%s is not an integer from 0 to 100", s)
	if len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return 0, bad
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, bad
		}
		n = 10*n + int(c-'0')
	}
	if n > 100 {
		return 0, bad
	}
	return n, nil
}
