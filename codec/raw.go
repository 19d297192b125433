package codec

import "fmt"

// Raw passes bytes through unchanged, content subtype "raw". It marshals
// []byte and *[]byte as they are, and unmarshals into a *[]byte, copying:
// the caller may reuse the data it decodes from.
var Raw AppendCodec = rawCodec{}

type rawCodec struct{}

func (rawCodec) Name() string { return "raw" }

func rawBytes(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		if b == nil {
			return nil, nil
		}
		return *b, nil
	}
	return nil, fmt.Errorf("codec: raw: cannot marshal %T, want []byte or *[]byte", v)
}

func (rawCodec) Marshal(v any) ([]byte, error) {
	return rawBytes(v)
}

func (rawCodec) MarshalAppend(dst []byte, v any) ([]byte, error) {
	b, err := rawBytes(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok || p == nil {
		return fmt.Errorf("codec: raw: cannot unmarshal into %T, want a non-nil *[]byte", v)
	}
	*p = append([]byte(nil), data...)
	return nil
}
