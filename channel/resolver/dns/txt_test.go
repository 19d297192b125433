package dns

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// host is the client's host name in the tests of choices.
const host = "client-7.example"

// TestChoiceSelection checks each criterion of gRFC A2's service config
// choices, and that the first choice that applies wins.
func TestChoiceSelection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		roll  int
		want  string // the chosen serviceConfig; "" for none
	}{
		{"no criteria", `[{"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"empty array", `[]`, 0, ""},
		{"whitespace kept inside the config", ` [ { "serviceConfig" : { "a" : [1, 2] } } ] `, 0, `{ "a" : [1, 2] }`},

		{"language go", `[{"clientLanguage":["go"],"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"language in any case", `[{"clientLanguage":["c++","Go"],"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"language GO", `[{"clientLanguage":["GO"],"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"other languages", `[{"clientLanguage":["java","c++","golang"],"serviceConfig":{"a":1}}]`, 0, ""},
		{"empty language list", `[{"clientLanguage":[],"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"null language list", `[{"clientLanguage":null,"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},

		{"percentage 0, lowest roll", `[{"percentage":0,"serviceConfig":{"a":1}}]`, 0, ""},
		{"percentage 100, highest roll", `[{"percentage":100,"serviceConfig":{"a":1}}]`, 99, `{"a":1}`},
		{"percentage 100, lowest roll", `[{"percentage":100,"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"roll just below", `[{"percentage":30,"serviceConfig":{"a":1}}]`, 29, `{"a":1}`},
		{"roll equal", `[{"percentage":30,"serviceConfig":{"a":1}}]`, 30, ""},
		{"percentage 1, roll 0", `[{"percentage":1,"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"percentage 99, roll 99", `[{"percentage":99,"serviceConfig":{"a":1}}]`, 99, ""},
		{"null percentage", `[{"percentage":null,"serviceConfig":{"a":1}}]`, 99, `{"a":1}`},

		{"hostname", `[{"clientHostname":["other",` + q(host) + `],"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},
		{"hostname is case-sensitive", `[{"clientHostname":["CLIENT-7.example"],"serviceConfig":{"a":1}}]`, 0, ""},
		{"hostname must match whole", `[{"clientHostname":["client-7"],"serviceConfig":{"a":1}}]`, 0, ""},
		{"empty hostname list", `[{"clientHostname":[],"serviceConfig":{"a":1}}]`, 0, `{"a":1}`},

		{"every criterion holds", `[{"clientLanguage":["go"],"percentage":50,"clientHostname":[` + q(host) + `],"serviceConfig":{"a":1}}]`, 49, `{"a":1}`},
		{"one criterion fails", `[{"clientLanguage":["go"],"percentage":50,"clientHostname":[` + q(host) + `],"serviceConfig":{"a":1}}]`, 50, ""},

		{"first that applies wins", `[
			{"clientLanguage":["java"],"serviceConfig":{"n":1}},
			{"percentage":10,"serviceConfig":{"n":2}},
			{"clientLanguage":["go"],"serviceConfig":{"n":3}},
			{"serviceConfig":{"n":4}}]`, 50, `{"n":3}`},
		{"first of two that apply", `[{"serviceConfig":{"n":1}},{"serviceConfig":{"n":2}}]`, 0, `{"n":1}`},
		{"none applies", `[{"clientLanguage":["java"],"serviceConfig":{"n":1}},{"percentage":0,"serviceConfig":{"n":2}}]`, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseServiceConfig(tc.value, client{hostname: host, roll: tc.roll})
			if err != nil {
				t.Fatalf("chooseServiceConfig: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("chose %#q, want %#q", got, tc.want)
			}
		})
	}
}

// TestChoiceUnknownHostname: when the system's host name is not known, a
// choice with a clientHostname list does not apply, not even one that
// holds "".
func TestChoiceUnknownHostname(t *testing.T) {
	got, err := chooseServiceConfig(`[{"clientHostname":[""],"serviceConfig":{"n":1}},{"serviceConfig":{"n":2}}]`, client{})
	if err != nil || string(got) != `{"n":2}` {
		t.Fatalf("chose %#q, %v; want the second choice", got, err)
	}
}

// TestInvalidChoices: a value that is no JSON array of valid choices is
// an error, even when an earlier, valid choice applies (gRFC A2 discards
// the whole record).
func TestInvalidChoices(t *testing.T) {
	for _, tc := range []struct{ value, wantErr string }{
		{``, "not a JSON array"},
		{`{"serviceConfig":{}}`, "not a JSON array"},
		{`null`, "not a JSON array"},
		{`"[]"`, "not a JSON array"},
		{`[{"serviceConfig":{}}`, "not a JSON array"},
		{`[{"serviceConfig":{}}]x`, "not a JSON array"},
		{`[{"serviceConfig":{}},]`, "not a JSON array"},
		{`[null]`, "choice 0: not a JSON object"},
		{`[[]]`, "choice 0: not a JSON object"},
		{`[{}]`, "choice 0: no serviceConfig"},
		{`[{"clientLanguage":["go"]}]`, "choice 0: no serviceConfig"},
		{`[{"serviceConfig":null}]`, `"serviceConfig": is not a JSON object`},
		{`[{"serviceConfig":[]}]`, `"serviceConfig": is not a JSON object`},
		{`[{"serviceConfig":"{}"}]`, `"serviceConfig": is not a JSON object`},
		{`[{"serviceConfig":{},"serviceConfig":{}}]`, `"serviceConfig" appears twice`},
		{`[{"serviceConfig":{},"extra":1}]`, `"extra": is not a field`},
		{`[{"serviceConfig":{},"clientHostName":["h"]}]`, `"clientHostName": is not a field`},
		{`[{"ServiceConfig":{}}]`, `"ServiceConfig": is not a field`},
		{`[{"serviceConfig":{},"clientLanguage":"go"}]`, `"clientLanguage": is not a list of strings`},
		{`[{"serviceConfig":{},"clientLanguage":["go",1]}]`, `"clientLanguage": element 1 is not a string`},
		{`[{"serviceConfig":{},"clientLanguage":["go",null]}]`, `"clientLanguage": element 1 is not a string`},
		{`[{"serviceConfig":{},"clientHostname":{"h":1}}]`, `"clientHostname": is not a list of strings`},
		{`[{"serviceConfig":{},"percentage":101}]`, `"percentage": 101 is not an integer from 0 to 100`},
		{`[{"serviceConfig":{},"percentage":-1}]`, `"percentage": -1 is not`},
		{`[{"serviceConfig":{},"percentage":50.5}]`, `"percentage": 50.5 is not`},
		{`[{"serviceConfig":{},"percentage":50.0}]`, `"percentage": 50.0 is not`},
		{`[{"serviceConfig":{},"percentage":1e1}]`, `"percentage": 1e1 is not`},
		{`[{"serviceConfig":{},"percentage":050}]`, "not a JSON array"},
		{`[{"serviceConfig":{},"percentage":"50"}]`, `"percentage": "50" is not`},
		{`[{"serviceConfig":{},"percentage":1000}]`, `"percentage": 1000 is not`},
		{`[{"serviceConfig":{},"percentage":true}]`, `"percentage": true is not`},
		// The first choice applies, but the second is not valid.
		{`[{"serviceConfig":{"n":1}},{"serviceConfig":{"n":2},"percent":5}]`, `choice 1: field "percent": is not a field`},
	} {
		got, err := chooseServiceConfig(tc.value, client{hostname: host, roll: 0})
		if err == nil {
			t.Errorf("%s: chose %#q, want an error", tc.value, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %q, want one that says %q", tc.value, err, tc.wantErr)
		}
		if got != nil {
			t.Errorf("%s: chose %#q with the error", tc.value, got)
		}
	}
}

func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzChooseServiceConfig: chooseServiceConfig never panics, gives the
// same answer for the same input, and what it accepts is well formed: a
// JSON array whose elements are objects with a serviceConfig object, the
// chosen config being one of those objects.
func FuzzChooseServiceConfig(f *testing.F) {
	for _, s := range []string{
		`[{"serviceConfig":{"loadBalancingPolicy":"round_robin"}}]`,
		`[{"clientLanguage":["c++","GO"],"percentage":50,"clientHostname":["h"],"serviceConfig":{"a":[1,{"b":null}]}},{"serviceConfig":{}}]`,
		`[{"percentage":100,"serviceConfig":{}},{"percentage":0,"serviceConfig":{"x":"y"}}]`,
		`[{"serviceConfig":{},"extra":1}]`,
		`[{"serviceConfig":{},"serviceConfig":{}}]`,
		`[{"percentage":050,"serviceConfig":{}}]`,
		`[]`,
		` [ {"serviceConfig" : {}} ] `,
		`{}`,
		``,
	} {
		f.Add(s, "h", uint8(0))
		f.Add(s, "", uint8(99))
	}
	f.Fuzz(func(t *testing.T, value, hostname string, roll uint8) {
		c := client{hostname: hostname, roll: int(roll % 100)}
		got, err := chooseServiceConfig(value, c)
		again, err2 := chooseServiceConfig(value, c)
		if !bytes.Equal(got, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("two answers for one input: %#q, %v and %#q, %v", got, err, again, err2)
		}
		if err != nil {
			if got != nil {
				t.Fatalf("chose %#q with the error %v", got, err)
			}
			return
		}
		var choices []map[string]json.RawMessage
		if err := json.Unmarshal([]byte(value), &choices); err != nil || choices == nil {
			t.Fatalf("accepted %#q, which is no JSON array of objects (%v)", value, err)
		}
		found := got == nil
		for i, ch := range choices {
			sc := ch["serviceConfig"]
			if len(sc) == 0 || sc[0] != '{' {
				t.Fatalf("accepted %#q, whose choice %d has no serviceConfig object", value, i)
			}
			for k := range ch {
				if k != "serviceConfig" && k != "clientLanguage" && k != "percentage" && k != "clientHostname" {
					t.Fatalf("accepted %#q, whose choice %d has field %q", value, i, k)
				}
			}
			found = found || bytes.Equal(sc, got)
		}
		if !found {
			t.Fatalf("chose %#q, which is no choice's serviceConfig in %#q", got, value)
		}
		if got != nil {
			var obj map[string]any
			if err := json.Unmarshal(got, &obj); err != nil || obj == nil {
				t.Fatalf("chose %#q, which is no JSON object (%v)", got, err)
			}
		}
		// A choice that applies with some roll applies with every lower
		// one: a lower roll never gives no config where a higher gave one.
		if got != nil && c.roll > 0 {
			lower, err := chooseServiceConfig(value, client{hostname: hostname, roll: 0})
			if err != nil || lower == nil {
				t.Fatalf("roll %d chose %#q, roll 0 chose %#q, %v", c.roll, got, lower, err)
			}
		}
	})
}

// TestParseChoiceFields: a parsed choice keeps the criteria it was given.
func TestParseChoiceFields(t *testing.T) {
	ch, err := parseChoice(json.RawMessage(`{"clientLanguage":["go","java"],"percentage":7,"clientHostname":["a","b"],"serviceConfig":{"x":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &choice{languages: []string{"go", "java"}, percentage: 7, hostnames: []string{"a", "b"}, config: json.RawMessage(`{"x":1}`)}
	if !reflect.DeepEqual(ch, want) {
		t.Fatalf("parsed %+v, want %+v", ch, want)
	}
}
