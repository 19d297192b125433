package codec

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// Proto is the protobuf binary codec, content subtype "proto", the gRPC
// default. It handles proto.Message values and, through protoadapt, older
// generated messages.
var Proto AppendCodec = &messageCodec{
	name:          "proto",
	marshalAppend: proto.MarshalOptions{}.MarshalAppend,
	unmarshal:     proto.Unmarshal,
}

// JSON is the protobuf JSON codec, content subtype "json". It handles the
// same values as Proto.
var JSON AppendCodec = &messageCodec{
	name:          "json",
	marshalAppend: protojson.MarshalOptions{}.MarshalAppend,
	unmarshal:     protojson.Unmarshal,
}

// messageCodec is a codec of protobuf messages in one encoding.
type messageCodec struct {
	name          string
	marshalAppend func([]byte, proto.Message) ([]byte, error)
	unmarshal     func([]byte, proto.Message) error
}

// asMessage returns v as a proto.Message.
func (c *messageCodec) asMessage(v any) (proto.Message, error) {
	switch m := v.(type) {
	case proto.Message:
		return m, nil
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(m), nil
	}
	return nil, fmt.Errorf("codec: %s: %T is not a proto.Message", c.name, v)
}

func (c *messageCodec) Name() string { return c.name }

func (c *messageCodec) Marshal(v any) ([]byte, error) {
	return c.MarshalAppend(nil, v)
}

func (c *messageCodec) MarshalAppend(dst []byte, v any) ([]byte, error) {
	m, err := c.asMessage(v)
	if err != nil {
		return dst, err
	}
	return c.marshalAppend(dst, m)
}

func (c *messageCodec) Unmarshal(data []byte, v any) error {
	m, err := c.asMessage(v)
	if err != nil {
		return err
	}
	return c.unmarshal(data, m)
}
