// Package editionspb is the generated code of test services written in
// protobuf editions (2023 and 2024), that the code generator is tested with.
package editionspb
